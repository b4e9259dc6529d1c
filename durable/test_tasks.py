"""The task itself, on a real worker: a redelivered message does not send again; a round of
attempts that ends on a temporary SMTP failure is tried again later, and nothing is lost."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import redis

from conformance.fixtures import fresh_address
from durable.declared import declared
from durable.stack import Stack
from durable.tasks import celery_app, done_key, notify
from shared.recorder import read_events
from shared.sink import SmtpSink


def deliver(stack: Stack, email: str, key: str, sender: str = "sync") -> None:
    """Publish the notification's message with its key, as the web app does (and as Redis
    does again when it hands out a message whose worker died)."""
    assert stack.redis is not None
    with celery_app.connection_for_write(stack.redis.url) as connection:
        notify.apply_async((email, sender, None), task_id=key, connection=connection)


def sends_for_one_notification_delivered_twice(stack: Stack, sink: SmtpSink) -> int:
    address, key = fresh_address(), str(uuid.uuid4())
    deliver(stack, address, key)
    sink.wait_for(address)
    deliver(stack, address, key)  # the same message again, after the first was sent
    barrier = fresh_address()  # one worker process, so the barrier runs after the second copy
    deliver(stack, barrier, str(uuid.uuid4()))
    sink.wait_for(barrier)
    return len(sink.to(address))


@pytest.mark.parametrize("tasks, sends", [("durable.tasks", 1), ("durable.wrong_apps.forgetful_tasks", 2)],
                         ids=["right", "forgetful"])
def test_redelivered_notification_is_sent_once(sink: SmtpSink, tmp_path: Path, tasks: str,
                                               sends: int) -> None:
    """The done-mark: a second delivery of a sent notification's message sends nothing
    (and a worker without the mark, which sends it again, is caught)."""
    with Stack("", "uvicorn", sink.port, tmp_path, concurrency=1, tasks=tasks).start(web=False) as stack:
        assert sends_for_one_notification_delivered_twice(stack, sink) == sends


@pytest.mark.parametrize("sender", ["sync", "async"])
def test_temporary_smtp_failures_are_retried_until_delivered(sink: SmtpSink, tmp_path: Path,
                                                             sender: str) -> None:
    """Clause 16: every attempt of a round fails with 451 (each recorded, as clause 10 says),
    the task is tried again later (the default rounds), and the notification is delivered once;
    with either sender, whose outcome ("temporary") is what tells the task to go again."""
    address, key = fresh_address(), str(uuid.uuid4())
    sink.fail("451 4.3.0 try again later", address, times=4)  # AFTERWARD_SMTP_ATTEMPTS' default
    with Stack("", "uvicorn", sink.port, tmp_path, concurrency=1).start(web=False) as backend:
        deliver(backend, address, key, sender)
        retried(backend, sink, address, key)


def retried(backend: Stack, sink: SmtpSink, address: str, key: str) -> None:
    delivered = sink.wait_for(address, count=5, timeout=60)
    assert [m.reply[:3] for m in delivered] == ["451"] * 4 + ["250"]
    failed = [e for e in read_events(backend.events_path) if e["request_id"] == address
              and e["event"] == "mail_failed"]
    assert [(e["attempt"], e["final"]) for e in failed] == [(1, False), (2, False), (3, False), (4, True)]
    assert backend.redis is not None
    marks = redis.Redis.from_url(backend.redis.url)
    deadline = time.monotonic() + 30  # the mark follows the 250 the sink has already answered
    while not marks.exists(done_key(key, "mail")) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for a mark that must come
    assert marks.exists(done_key(key, "mail")), "the delivered e-mail's step was never marked done"
    marks.close()
    assert declared("temporary_smtp_failure_retried_later") is True  # what this test has just shown


def test_a_redis_that_finds_its_port_taken_starts_on_another(tmp_path: Path) -> None:
    """Two stacks started at once can pick the same free port: the second Redis then fails to
    bind while the first answers its readiness ping. It must not take the first for its own
    (two stacks on one broker consume each other's messages): it starts again elsewhere."""
    from durable.redis_server import RedisServer

    with RedisServer(tmp_path / "first") as first:
        second = RedisServer(tmp_path / "second")
        second.port = first.port  # as if both had picked the same free port
        with second:
            assert second.port != first.port
            assert first.proc is not None and second.proc is not None
            pids = {redis.Redis.from_url(r.url).info("server")["process_id"] for r in (first, second)}
            assert pids == {first.proc.pid, second.proc.pid} and len(pids) == 2


def test_each_worker_app_runs_its_own_task() -> None:
    """The wrong worker's app imports the right one's module: each app must still register its
    own `afterward.notify` (a shared task would join both apps, the last one registered winning)."""
    from durable import tasks
    from durable.wrong_apps import forgetful_tasks, interruptible_tasks

    for module in (tasks, forgetful_tasks, interruptible_tasks):
        assert module.celery_app.tasks["afterward.notify"].run.__module__ == module.__name__
