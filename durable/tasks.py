"""The Celery app and its one task: the log line, then the e-mail, at least once, sent once.

The durable apps enqueue `notify` where the in-process apps add background tasks; a
worker process runs it. The broker is Redis (`AFTERWARD_BROKER_URL`, default
`redis://127.0.0.1:6379/0`). A message is acknowledged only after the task has run
(`task_acks_late`), and one whose worker died is handed out again: at once when only a
pool process died (`task_reject_on_worker_lost`), after `AFTERWARD_VISIBILITY_TIMEOUT`
seconds (default 3600, Celery's) when the whole worker did. At least once, so a task can
run twice; its key (the task id, which the web app sets and every redelivery keeps) is
marked in Redis once a step is done and checked before the step runs, so a redelivery
neither logs nor sends again what already went out. A stop is not a crash: a pool process
that gets SIGTERM mid-delivery finishes it, mark included, before the worker stops.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from celery import Celery, Task
from celery.signals import worker_process_init
from kombu.exceptions import OperationalError

from durable.delivery import (
    BROKER_ENV,
    BROKER_TIMEOUT,
    BROKER_UNAVAILABLE,
    HUNG_BROKER_WAITS,
    PUBLISH_TRIES,
    ROUNDS,
    BrokerUnavailable,
    answer_bound,
    backoff,
    broker_url,
    done_key,
    seconds,
    unavailable_body,
)
from durable.delivery import deliver as deliver_steps

__all__ = ["BROKER_ENV", "BROKER_TIMEOUT", "BROKER_UNAVAILABLE", "HUNG_BROKER_WAITS", "PUBLISH_TRIES",
           "ROUNDS", "SETTINGS", "BrokerUnavailable", "answer_bound", "broker_url", "celery_app", "deliver",
           "done_key", "enqueue", "finish_before_sigterm", "notify", "pending", "unavailable_body"]

#: The app's settings: acknowledged late, redelivered when a worker dies, answered fast when down.
SETTINGS = dict(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "visibility_timeout": seconds("AFTERWARD_VISIBILITY_TIMEOUT", 3600),
        # Sweep for messages whose worker died every second rather than every 100 s.
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        # A request that finds the broker down, or hung, is answered within seconds: each connect,
        # and each reply, is waited for this long (kombu waits forever for a reply by default).
        "socket_connect_timeout": BROKER_TIMEOUT,
        "socket_timeout": BROKER_TIMEOUT,
    },
    broker_connection_timeout=BROKER_TIMEOUT,
    task_publish_retry_policy={"max_retries": PUBLISH_TRIES - 1, "interval_start": 0, "interval_step": 0.2},
)
celery_app = Celery("afterward", broker=broker_url())
celery_app.conf.update(SETTINGS)

_marks: redis.Redis | None = None


def _done() -> redis.Redis:
    global _marks
    if _marks is None:  # one client per worker process, made after the fork
        _marks = redis.Redis.from_url(broker_url())
    return _marks


#: Set in each prefork pool process as it starts (`worker_process_init`): only there does a task
#: run in a process of its own, whose SIGTERM the worker's main process does not handle.
_pool_process = False


@worker_process_init.connect
def _in_pool_process(**_: object) -> None:
    global _pool_process
    _pool_process = True


@contextmanager
def finish_before_sigterm() -> Iterator[None]:
    """In a pool process, SIGTERM is ignored while the block runs (a delivery: the send, then its
    done-mark), and the process's own handling comes back after it.

    Celery resets SIGTERM in its pool processes (`WORKER_SIGRESET`), and billiard then makes it
    raise `SystemExit` wherever the process is. Whoever signals the whole worker (systemd's
    default `KillMode=control-group`, `kill` of its process group) thus stopped a delivery
    between the SMTP server's `250` and the done-mark, and the message, requeued as its
    process's job was lost, was sent again. Ignored here, the signal leaves the process to the
    worker's main process, whose warm shutdown waits for the running tasks and then closes the
    pool (Celery's cold shutdown too, once the task is done)."""
    if not _pool_process:  # the main process (`--pool solo`) keeps its own shutdown handler
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def deliver(task: Task, email: str, sender: str, log: str | None) -> None:
    """The steps (durable.delivery's `deliver`), keyed by the task id. A round of attempts that
    ended on a temporary failure is retried as a new message, later."""
    outcome = deliver_steps(_done(), task.request.id, email, sender, log)
    if outcome == "temporary" and task.request.retries < ROUNDS - 1:
        raise task.retry(countdown=backoff(task.request.retries))


# shared=False: this app's task only (a shared task joins every app made in the process, such as
# a wrong worker's, where two tasks of one name would be registered in a set's order).
@celery_app.task(name="afterward.notify", bind=True, max_retries=ROUNDS - 1, shared=False)
def notify(self: Task, email: str, sender: str, log: str | None = None) -> None:
    """The delivery, which a SIGTERM to this pool process does not cut short."""
    with finish_before_sigterm():
        deliver(self, email, sender, log)


async def enqueue(email: str, sender: str, log: str | None) -> None:
    """`.delay()`, in a thread: kombu publishes with redis-py's blocking client."""
    try:
        await asyncio.to_thread(notify.delay, email, sender, log)
    except OperationalError as exc:
        raise BrokerUnavailable(str(exc)) from exc


#: The queue and the delivered-but-unacknowledged messages, as kombu keeps them in Redis.
QUEUE, UNACKED = "celery", "unacked"


def pending(client: redis.Redis) -> int:
    """Messages queued, or handed out and not yet acknowledged (with `task_acks_late`, not yet run)."""
    return client.llen(QUEUE) + client.hlen(UNACKED)
