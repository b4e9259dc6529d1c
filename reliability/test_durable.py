"""What a durable queue keeps when a process dies: SIGKILL of the web server, of the Celery
worker mid-delivery, of Redis itself, with notifications in flight.

Each run starts Redis (append-only, fsync on every write), a worker and the pair's durable
app; accepts IN_FLIGHT notifications while the SMTP server holds every e-mail, so the
worker is mid-delivery; kills one process by SIGKILL; starts it again; lets the e-mails
through. Once the broker holds no message (none queued, none unacknowledged) and a fresh
notification has gone through as a barrier, every address is counted at the SMTP server:
lost (never delivered) and duplicated (delivered more than once).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from importlib import metadata
from pathlib import Path

import httpx
import pytest
import redis

from conformance.fixtures import Pair
from durable.declared import declared
from durable.redis_server import redis_version
from durable.stack import Stack, durable_app
from reliability import IN_FLIGHT
from reliability.delivery import Tally
from shared.sink import SmtpSink

#: Seconds before a message whose worker died is handed out again: long enough for every
#: held delivery here to be killed well within it, short enough for the test to wait out.
VISIBILITY_TIMEOUT = 8
#: The worker's pool: that many deliveries are mid-send when the kill comes.
CONCURRENCY = 4
SENDERS = ["async", "sync"] * (IN_FLIGHT // 2)
TARGETS = ("web", "worker", "redis")


def stack_versions() -> str:
    """What the durable rows ran on, for the page."""
    packages = ", ".join(f"{name} {metadata.version(name)}" for name in ("celery", "kombu", "redis"))
    return f"{packages} (redis-py) and Redis {redis_version()}"


def wait_drained(stack: Stack, timeout: float) -> None:
    """Until the broker holds no message: nothing queued, nothing delivered but unacknowledged."""
    assert stack.redis is not None
    client = redis.Redis.from_url(stack.redis.url)
    deadline = time.monotonic() + timeout
    try:
        while client.llen("celery") or client.hlen("unacked"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the broker still holds {client.llen('celery')} queued and "
                                   f"{client.hlen('unacked')} unacknowledged message(s) after {timeout:g} s")
            time.sleep(0.1)  # polling for a state that must come
    finally:
        client.close()


def kill_and_restart(stack: Stack, target: str) -> None:
    if target == "web":
        assert stack.web is not None
        stack.web.kill()
        stack.web.wait(30)
        stack.start_web()
    elif target == "worker":
        stack.kill_workers()
    else:
        assert stack.redis is not None
        stack.redis.restart()


@pytest.mark.parametrize("target", TARGETS)
def test_durable_sigkill_loses_nothing(pair: Pair, sink: SmtpSink, tmp_path: Path, target: str,
                                       metric) -> None:
    """SIGKILL of one process with IN_FLIGHT notifications accepted and the worker mid-delivery;
    after the restart, every one delivered, duplicates counted."""
    prefix = f"d{uuid.uuid4().hex[:8]}-"
    senders = {f"{prefix}{n}@example.com": sender for n, sender in enumerate(SENDERS)}
    stack = Stack(durable_app(pair.framework), pair.server, sink.port, tmp_path, concurrency=CONCURRENCY,
                  extra_env={"AFTERWARD_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)})
    gate = sink.hold(lambda rcpts: any(r.startswith(prefix) for r in rcpts))
    with stack.start():
        try:
            assert stack.web is not None
            with httpx.Client(base_url=stack.web.url, timeout=30) as client:
                for address, sender in senders.items():
                    answer = client.post(f"/send-notification/{address}", params={"sender": sender})
                    assert answer.status_code == 200
            gate.wait_arrived(count=CONCURRENCY, timeout=60)  # the worker's whole pool is mid-send
            at_kill = sum(sink.deliveries(prefix).update().values())
            kill_and_restart(stack, target)
            if target == "worker":
                gate.wait_dropped(timeout=30)  # the SMTP server saw the dead pool's connections close
                stack.start_worker("w2")
        finally:
            gate.release()
        sink.wait_delivered(set(senders), prefix, timeout=120)
        wait_drained(stack, timeout=120)
        barrier = f"{prefix}barrier@example.com"
        with httpx.Client(base_url=stack.web.url, timeout=30) as client:
            assert client.post(f"/send-notification/{barrier}").status_code == 200
        sink.wait_delivered({barrier}, barrier, timeout=60)
    counts = sink.deliveries(prefix).update()
    tally = Tally.of(senders, Counter({a: n for a, n in counts.items() if a != barrier}))
    metric(pair, f"durable_sigkill_{target}_in_flight_lost", f"{len(tally.missing)}/{len(senders)}",
           f"0/{len(senders)}", mid_send_at_kill=CONCURRENCY, visibility_timeout_s=VISIBILITY_TIMEOUT,
           stack=stack_versions())
    metric(pair, f"durable_sigkill_{target}_duplicates", tally.duplicates, 0, sample=tally.sample())
    assert at_kill == 0, "a held notification was delivered before the kill"
    if target == "worker":  # the durable table's claim (durable/expected.toml)
        assert (not tally.missing) == declared("redelivered_after_worker_sigkill"), tally.sample()
    assert not tally.unexpected, tally.sample()
