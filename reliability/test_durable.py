"""What a durable queue keeps when a process dies or is stopped, and how it answers a broker that
hangs: SIGKILL and SIGTERM of the web server, of the Celery worker mid-delivery (SIGTERM to
its main process or to all of its processes), SIGKILL of Redis itself, and a broker that
accepts and never answers.

Each stop starts Redis (append-only, fsync on every write), a worker and the pair's durable
app; accepts IN_FLIGHT notifications while the SMTP server holds every e-mail, so the
worker's whole pool is mid-delivery and the rest are queued; kills or stops one process;
starts it again; lets the e-mails through. Once the broker holds no message (none queued,
none unacknowledged) and a fresh notification has gone through as a barrier, every address
is counted at the SMTP server: lost (never delivered) and duplicated (delivered more than
once).
"""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from conformance.fixtures import Pair
from durable.declared import declared
from durable.proxy import BrokerGate
from durable.redis_server import redis_version
from durable.stack import Stack, durable_app
from durable.test_broker import HungBroker, hung_broker_answer
from reliability import IN_FLIGHT
from reliability.delivery import Tally
from shared.sink import Gate, SmtpSink

#: Seconds before a message whose worker died is handed out again: long enough for every
#: held delivery here to be killed well within it, short enough for the test to wait out.
VISIBILITY_TIMEOUT = 8
#: The worker's pool: that many deliveries are mid-send when the kill comes.
CONCURRENCY = 4
SENDERS = ["async", "sync"] * (IN_FLIGHT // 2)
TARGETS = ("web", "worker", "redis")
#: What SIGTERM goes to: the web server; the worker's main process (a container's PID 1, as
#: Kubernetes and `docker stop` signal it); every process of the worker at once (systemd's
#: default `KillMode=control-group`), with the shipped task and with the task as Celery runs it
#: by default (durable/wrong_apps/interruptible_tasks.py).
SIGTERM_TARGETS = ("web", "worker", "worker_group", "worker_group_celery_defaults")
INTERRUPTIBLE = "durable.wrong_apps.interruptible_tasks"


def stack_versions() -> str:
    """What the durable rows ran on, for the page."""
    packages = ", ".join(f"{name} {metadata.version(name)}" for name in ("celery", "kombu", "redis"))
    return f"{packages} (redis-py) and Redis {redis_version()}"


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


def senders(prefix: str) -> dict[str, str]:
    """IN_FLIGHT addresses starting with `prefix`, half of them for each sender."""
    return {f"{prefix}{n}@example.com": sender for n, sender in enumerate(SENDERS)}


def stopped_with_notifications_in_flight(stack: Stack, sink: SmtpSink, prefix: str,
                                         stop: Callable[[Gate], Callable[[], object]]) -> Tally:
    """`senders(prefix)` accepted while the SMTP server holds every e-mail to them (the worker's
    whole pool mid-send, the rest queued); `stop(gate)` while they are held, and what it returns
    once they are let through; then every address counted, once the broker holds no message
    and a barrier has gone through."""
    accepted = senders(prefix)
    gate = sink.hold(lambda rcpts: any(r.startswith(prefix) for r in rcpts))
    with stack.start():
        assert stack.web is not None
        try:
            with httpx.Client(base_url=stack.web.url, timeout=30) as client:
                for address, sender in accepted.items():
                    answer = client.post(f"/send-notification/{address}", params={"sender": sender})
                    assert answer.status_code == 200
            gate.wait_arrived(count=CONCURRENCY, timeout=60)  # the worker's whole pool is mid-send
            at_stop = sum(sink.deliveries(prefix).update().values())
            assert at_stop == 0, "a held notification was delivered before the stop"
            restart = stop(gate)
        finally:
            gate.release()
        restart()
        sink.wait_delivered(set(accepted), prefix, timeout=120)
        stack.wait_drained(timeout=120)
        barrier = f"{prefix}barrier@example.com"
        with httpx.Client(base_url=stack.web.url, timeout=30) as client:
            assert client.post(f"/send-notification/{barrier}").status_code == 200
        sink.wait_delivered({barrier}, barrier, timeout=60)
    counts = sink.deliveries(prefix).update()
    return Tally.of(accepted, Counter({a: n for a, n in counts.items() if a != barrier}))


@pytest.mark.parametrize("target", TARGETS)
def test_durable_sigkill_loses_nothing(pair: Pair, sink: SmtpSink, tmp_path: Path, target: str,
                                       metric) -> None:
    """SIGKILL of one process with IN_FLIGHT notifications accepted and the worker mid-delivery;
    after the restart, every one delivered, duplicates counted."""
    prefix = f"d{uuid.uuid4().hex[:8]}-"
    stack = Stack(durable_app(pair.framework), pair.server, sink.port, tmp_path, concurrency=CONCURRENCY,
                  extra_env={"AFTERWARD_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)})

    def kill(gate: Gate) -> Callable[[], object]:
        kill_and_restart(stack, target)
        if target == "worker":
            gate.wait_dropped(timeout=30)  # the SMTP server saw the dead pool's connections close
            stack.start_worker("w2")
        return lambda: None

    tally = stopped_with_notifications_in_flight(stack, sink, prefix, kill)
    metric(pair, f"durable_sigkill_{target}_in_flight_lost", f"{len(tally.missing)}/{IN_FLIGHT}",
           f"0/{IN_FLIGHT}", mid_send_at_kill=CONCURRENCY, visibility_timeout_s=VISIBILITY_TIMEOUT,
           stack=stack_versions())
    metric(pair, f"durable_sigkill_{target}_duplicates", tally.duplicates, 0, sample=tally.sample())
    if target == "worker":  # the durable table's claim (durable/expected.toml)
        assert (not tally.missing) == declared("redelivered_after_worker_sigkill"), tally.sample()
    assert not tally.unexpected, tally.sample()


@pytest.mark.parametrize("target", SIGTERM_TARGETS)
def test_durable_sigterm_loses_nothing(pair: Pair, sink: SmtpSink, tmp_path: Path, target: str,
                                       metric) -> None:
    """SIGTERM with IN_FLIGHT notifications accepted and the worker's pool mid-delivery, taken
    before the e-mails are let through; the process started again once it has exited. The
    shipped worker loses nothing and sends nothing twice however it is stopped (the visibility
    time-out left at its default, 3600 s: nothing here waits for it); the task as Celery runs it
    by default sends each e-mail its pool held twice when every process gets the signal."""
    prefix = f"s{uuid.uuid4().hex[:8]}-"
    tasks = INTERRUPTIBLE if target.endswith("_celery_defaults") else "durable.records"
    stack = Stack(durable_app(pair.framework), pair.server, sink.port, tmp_path, concurrency=CONCURRENCY,
                  tasks=tasks)

    def sigterm(gate: Gate) -> Callable[[], object]:
        if target == "web":
            assert stack.web is not None
            stack.web.signal(signal.SIGTERM)
            assert stack.web.wait(30) is not None, "the web server did not exit within 30 s of SIGTERM"
            stack.start_web()
            return lambda: None
        worker = stack.sigterm_worker(group=target.startswith("worker_group"))
        return lambda: stack.replace_worker(worker)  # once it has finished its deliveries and exited

    tally = stopped_with_notifications_in_flight(stack, sink, prefix, sigterm)
    twice = CONCURRENCY if target.endswith("_celery_defaults") else 0
    kept = metric(pair, f"durable_sigterm_{target}_in_flight_lost", f"{len(tally.missing)}/{IN_FLIGHT}",
                  f"0/{IN_FLIGHT}", mid_send_at_stop=CONCURRENCY, stack=stack_versions())
    once = metric(pair, f"durable_sigterm_{target}_duplicates", tally.duplicates, twice,
                  sample=tally.sample())
    assert kept and once and not tally.unexpected, tally.sample()


@pytest.mark.parametrize("case", ["new", "open"])
def test_durable_hung_broker_is_answered_503_within_the_bound(pair: Pair, sink: SmtpSink, tmp_path: Path,
                                                              case: str, metric) -> None:
    """A broker that accepts and never answers, on a new connection or on the one the app holds:
    the answer, how long it took against the bound, whether `GET /health` was answered meanwhile,
    and what was sent once the broker is back."""
    stack = Stack(durable_app(pair.framework), pair.server, sink.port, tmp_path, concurrency=CONCURRENCY)
    with stack.start(web=False):
        assert stack.redis is not None
        with BrokerGate(stack.redis.port) as gate:
            web = stack.start_web(AFTERWARD_BROKER_URL=gate.url())
            try:
                hung: HungBroker = hung_broker_answer(web.url, gate, sink, stack.log_path,
                                                      open_first=case == "open")
            finally:
                web.stop()
    assert metric(pair, f"durable_hung_broker_{case}", hung.observed(), hung.expected(),
                  seconds=round(hung.seconds, 2), bound=hung.bound), hung.observed()
