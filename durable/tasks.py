"""The Celery app and its one task: the log line, then the e-mail, at least once, sent once.

The durable apps enqueue `notify` where the in-process apps add background tasks; a
worker process runs it. The broker is Redis (`AFTERWARD_BROKER_URL`, default
`redis://127.0.0.1:6379/0`). A message is acknowledged only after the task has run
(`task_acks_late`), and one whose worker died is handed out again: at once when only a
pool process died (`task_reject_on_worker_lost`), after `AFTERWARD_VISIBILITY_TIMEOUT`
seconds (default 3600, Celery's) when the whole worker did. At least once, so a task can
run twice; its key (the task id, which the web app sets and every redelivery keeps) is
marked in Redis once a step is done and checked before the step runs, so a redelivery
neither logs nor sends again what already went out.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import redis
from celery import Celery
from kombu.exceptions import OperationalError as BrokerUnavailable

from shared.logwriter import write_log
from shared.mailer import Outcome, write_notification, write_notification_async

__all__ = ["BROKER_ENV", "BROKER_UNAVAILABLE", "SETTINGS", "BrokerUnavailable", "broker_url", "celery_app",
           "done_key", "notify", "unavailable_body"]

BROKER_ENV = "AFTERWARD_BROKER_URL"
#: Rounds of the sender's attempts (clause 9's AFTERWARD_SMTP_ATTEMPTS each) before a
#: notification whose SMTP server stays unreachable is given up, with clause 10's ERROR line.
ROUNDS = int(os.environ.get("AFTERWARD_DURABLE_ROUNDS") or 5)
#: How long a step's done-mark stays in Redis: far longer than any redelivery takes.
DONE_TTL_S = 7 * 24 * 3600


#: The `error` member of the 503 body a durable app answers when it cannot enqueue.
BROKER_UNAVAILABLE = "broker_unavailable"


def unavailable_body(exc: Exception) -> dict[str, str]:
    """The 503 body: the notification was not enqueued, so nothing will be sent; try again."""
    return {"error": BROKER_UNAVAILABLE, "detail": f"the notification was not queued: {exc}"}


def broker_url() -> str:
    return os.environ.get(BROKER_ENV) or "redis://127.0.0.1:6379/0"


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


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
        "visibility_timeout": _seconds("AFTERWARD_VISIBILITY_TIMEOUT", 3600),
        # Sweep for messages whose worker died every second rather than every 100 s.
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        # A request that finds the broker down is answered within seconds, not retried for long.
        "socket_connect_timeout": _seconds("AFTERWARD_BROKER_TIMEOUT", 2),
        "socket_timeout": _seconds("AFTERWARD_BROKER_TIMEOUT", 2) + 8,
    },
    broker_connection_timeout=_seconds("AFTERWARD_BROKER_TIMEOUT", 2),
    task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
)
celery_app = Celery("afterward", broker=broker_url())
celery_app.conf.update(SETTINGS)

_marks: redis.Redis | None = None


def _done() -> redis.Redis:
    global _marks
    if _marks is None:  # one client per worker process, made after the fork
        _marks = redis.Redis.from_url(broker_url())
    return _marks


def done_key(key: str, step: str) -> str:
    return f"afterward:done:{key}:{step}"


def _once(key: str, step: str, run: Callable[[], Outcome | None]) -> Outcome | None:
    """Runs a step unless its done-mark says a delivery of this same task already ran it;
    marks it done unless it failed in a way worth another round."""
    if _done().exists(done_key(key, step)):
        return None
    outcome = run()
    if outcome != "temporary":
        _done().set(done_key(key, step), 1, ex=DONE_TTL_S)
    return outcome


# shared=False: this app's task only (a shared task joins every app made in the process, such as
# a wrong worker's, where two tasks of one name would be registered in a set's order).
@celery_app.task(name="afterward.notify", bind=True, max_retries=ROUNDS - 1, shared=False)
def notify(self, email: str, sender: str, log: str | None = None) -> None:
    """Clause 2 then clause 3: the log line (when there is one), then the e-mail. A round of
    attempts that ended on a temporary failure is retried as a new message, later."""
    key = self.request.id
    if log:
        _once(key, "log", lambda: write_log(log))
    if sender == "async":  # the `async def` sender, on an event loop of this call's own
        outcome = _once(key, "mail", lambda: asyncio.run(write_notification_async(email)))
    else:
        outcome = _once(key, "mail", lambda: write_notification(email))
    if outcome == "temporary" and self.request.retries < ROUNDS - 1:
        raise self.retry(countdown=min(2 ** self.request.retries, 30))
