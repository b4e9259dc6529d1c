"""What each engine does of its own (durable/engines.toml), on the engine `--engine` names: a worker
killed mid-delivery, a delivery slower than the engine's time-out, SIGTERM mid-delivery, Redis
killed. Each runs on a stack of its own, FastAPI's durable app under uvicorn (the worker decides,
not the framework), with the engine's time-out shortened as engines.toml's `measured_with` says
(the redelivery's, three times as long, for the stops),
and counts at the SMTP server, by address: lost, sent twice.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.fixtures import fresh_address
from durable.declared import engine_properties
from durable.stack import Stack, durable_app
from reliability.delivery import Tally
from shared.axes import Engine
from shared.recorder import read_events
from shared.sink import Gate, SmtpSink

#: Notifications accepted per episode, half with each sender; the worker runs CONCURRENCY at once
#: and holds the rest (queued, or prefetched by the engine).
IN_FLIGHT = 8
CONCURRENCY = 4
#: Seconds a measured redelivery may come after the declared time: the engines' sweeps and polls
#: (Celery's 1-s restore, arq's 0.5-s poll, taskiq's 1-s read) and a loaded machine.
TOLERANCE = 3.0
#: Seconds past the declared time before a redelivery that has not come counts as not coming alone.
GRACE = 6.0
#: The stops run with the engines' time-outs this many times the redelivery check's: longer than
#: a delivery held while the stop is watched for cuts (GRACE), short enough for a cut delivery to
#: come back within the check.
STOP_SCALE = 3
#: Most barrier notifications one episode sends while it watches (bounded in count and in time).
MOST_BARRIERS = 400


def entry(prop: str, engine: Engine) -> dict[str, Any]:
    return engine_properties()[prop][engine.name]


def settings(prop: str, engine: Engine, scale: float = 1.0) -> dict[str, str]:
    """The engine's time-outs as engines.toml measures `prop` (`scale` times longer)."""
    return {k: f"{float(v) * scale:g}" for k, v in entry(prop, engine).get("measured_with", {}).items()}


@pytest.fixture
def stacks(sink: SmtpSink, engine: Engine, tmp_path: Path) -> Iterator[Any]:
    started: list[Stack] = []

    def start(**env: str) -> Stack:
        stack = Stack(durable_app("fastapi"), "uvicorn", sink.port, tmp_path / f"stack{len(started)}",
                      concurrency=CONCURRENCY, engine=engine, extra_env=env)
        started.append(stack)
        return stack.start()

    yield start
    for stack in started:
        stack.stop()


def post(stack: Stack, address: str, sender: str = "sync") -> None:
    assert stack.web is not None
    answer = httpx.post(f"{stack.web.url}/send-notification/{address}", params={"sender": sender}, timeout=30)
    assert answer.status_code == 200, answer.text


def accept(stack: Stack, sink: SmtpSink, n: int = IN_FLIGHT) -> tuple[str, dict[str, str], Gate]:
    """`n` notifications accepted while the SMTP server holds every one: the worker's whole
    concurrency is mid-send when this returns."""
    prefix = f"e{uuid.uuid4().hex[:8]}-"
    accepted = {f"{prefix}{i}@example.com": ("async", "sync")[i % 2] for i in range(n)}
    gate = sink.hold(lambda rcpts: any(r.startswith(prefix) for r in rcpts))
    for address, sender in accepted.items():
        post(stack, address, sender)
    gate.wait_arrived(CONCURRENCY, timeout=60)
    return prefix, accepted, gate


def barrier(stack: Stack, sink: SmtpSink, timeout: float = 60.0) -> None:
    """One more notification, through: traffic, and a point every earlier one has passed."""
    address = f"barrier-{uuid.uuid4().hex[:10]}@example.com"
    post(stack, address)
    sink.wait_for(address, timeout=timeout)


@dataclass(frozen=True)
class Counted:
    """How an episode ended for its accepted notifications."""

    #: "alone" (all delivered with no other traffic), "with the next message" (only once a later
    #: notification came through) or "never".
    how: str
    lost: int
    twice: int
    #: Seconds from the kill or stop to the first e-mail to an address that was held then.
    after_s: float | None = None

    def observed(self) -> dict[str, Any]:
        seen: dict[str, Any] = {"how": self.how, "lost": self.lost, "twice": self.twice}
        if self.after_s is not None:
            seen["after_s"] = round(self.after_s, 1)
        return seen


def count(stack: Stack, sink: SmtpSink, prefix: str, accepted: dict[str, str], window: float,
          held: list[str], since: float) -> Counted:
    """Waits up to `window` s for every accepted address to be delivered with no other traffic,
    then (if need be) sends one barrier and waits as long again; then counts, once the broker holds
    nothing, by address."""
    watch = sink.deliveries(prefix)

    def all_in(timeout: float) -> bool:
        return sink.wait_each_delivered(set(accepted), prefix, timeout=timeout)

    how = "alone"
    if not all_in(window):
        barrier(stack, sink)
        how = "with the next message" if all_in(window) else "never"
    if how != "never":
        stack.wait_drained(timeout=60)
    counts = watch.update()
    tally = Tally.of(accepted, Counter({a: n for a, n in counts.items() if a in accepted}))
    starts = [m.started for a in held for m in sink.to(a) if m.started > since and m.delivered]
    return Counted(how, len(tally.missing), tally.duplicates, min(starts) - since if starts else None)


def worker_killed(stack: Stack, sink: SmtpSink, window: float) -> Counted:
    """SIGKILL of the worker's every process with IN_FLIGHT notifications accepted and CONCURRENCY
    of them mid-send; a new worker started at once."""
    prefix, accepted, gate = accept(stack, sink)
    held = [a for m in gate.arrived for a in m.rcpt_tos]
    killed = time.monotonic()
    try:
        stack.kill_workers()
        gate.wait_dropped(timeout=30)
    finally:
        gate.release()
    stack.start_worker("w2")
    return count(stack, sink, prefix, accepted, window, held, killed)


def redelivery_window(engine: Engine, scale: float = 1.0) -> float:
    return entry("redelivery_after_worker_sigkill", engine)["after_s"] * scale + GRACE


def test_a_killed_workers_notifications_are_delivered_again(stacks: Any, sink: SmtpSink, engine: Engine,
                                                            observe: Any) -> None:
    """SIGKILL mid-delivery: how the killed worker's notifications come back (alone, or only once
    other traffic comes), after how long with the shortened time-out, and what is lost or doubled."""
    declared = entry("redelivery_after_worker_sigkill", engine)
    stack = stacks(**settings("redelivery_after_worker_sigkill", engine))
    counted = worker_killed(stack, sink, redelivery_window(engine))
    observe("redelivery_after_worker_sigkill", counted.observed())
    assert (counted.how, counted.lost, counted.twice) == (declared["value"], 0, 0), counted
    assert counted.after_s is not None
    if counted.how == "alone":  # otherwise it is when the next message came
        low, high = declared["after_s"] - TOLERANCE / 2, declared["after_s"] + TOLERANCE
        assert low <= counted.after_s <= high, counted


def test_a_longer_time_out_is_told_apart(stacks: Any, sink: SmtpSink, engine: Engine) -> None:
    """The measure can fail: with the engine's time-out twice as long, the redelivery comes later
    than the declared time allows."""
    declared = entry("redelivery_after_worker_sigkill", engine)
    stack = stacks(**settings("redelivery_after_worker_sigkill", engine, scale=2))
    counted = worker_killed(stack, sink, redelivery_window(engine, scale=2))
    assert counted.after_s is not None and counted.after_s > declared["after_s"] + TOLERANCE, counted


def slow_delivery(stack: Stack, sink: SmtpSink, window: float) -> dict[str, Counted]:
    """Two notifications, one per sender, whose SMTP replies are held past the engine's time-out,
    while other notifications go through one after another; then released, and counted per sender."""
    token = uuid.uuid4().hex[:10]
    addresses = {sender: f"slow-{token}-{sender}@example.com" for sender in ("sync", "async")}
    gate = sink.hold(lambda rcpts: any(a in rcpts for a in addresses.values()))
    for sender, address in addresses.items():
        post(stack, address, sender)
    started = time.monotonic()
    try:
        gate.wait_arrived(2, timeout=60)
        deadline = started + window
        for _ in range(MOST_BARRIERS):
            if len(gate.arrived) >= 2 * len(addresses) or time.monotonic() > deadline:
                break
            try:
                barrier(stack, sink, timeout=GRACE)
            except TimeoutError:  # every slot of the worker holds a held delivery (copies included)
                break
    finally:
        gate.release()
    return {sender: count(stack, sink, address, {address: sender}, GRACE, [address], started)
            for sender, address in addresses.items()}


def slow_window(engine: Engine) -> float:
    """Past every engine's second look at a running delivery: arq's in-progress key lasts the time-out
    and 10 s more."""
    return entry("slow_delivery_past_the_time_out", engine)["time_out_s"] + 10 + GRACE


def test_a_delivery_slower_than_the_time_out(stacks: Any, sink: SmtpSink, engine: Engine,
                                             observe: Any) -> None:
    """No crash: a delivery per sender held past the engine's time-out, with traffic meanwhile. Each
    is sent once, sent twice (handed out again while it runs) or lost (cut at the time-out)."""
    declared = entry("slow_delivery_past_the_time_out", engine)
    stack = stacks(**settings("slow_delivery_past_the_time_out", engine))
    counted = slow_delivery(stack, sink, slow_window(engine))
    outcomes = {sender: "lost" if c.lost else "sent twice" if c.twice else "sent once"
                for sender, c in counted.items()}
    observe("slow_delivery_past_the_time_out", outcomes)
    assert outcomes == declared["value"], counted


def test_a_time_out_longer_than_the_delivery_sends_once(stacks: Any, sink: SmtpSink,
                                                        engine: Engine) -> None:
    """The measure can fail: with the engine's time-out ten times as long as the check's, the held
    deliveries are neither handed out again nor cut: each is sent once (on the engines declared to
    double or cut a slow delivery, what the check then sees differs from the declared value)."""
    stack = stacks(**settings("slow_delivery_past_the_time_out", engine, scale=10))
    counted = slow_delivery(stack, sink, slow_window(engine))
    outcomes = {sender: (c.lost, c.twice) for sender, c in counted.items()}
    assert outcomes == {"sync": (0, 0), "async": (0, 0)}, counted


def sigterm_mid_delivery(stack: Stack, sink: SmtpSink, group: bool, window: float,
                         sig: int = signal.SIGTERM) -> tuple[Counted, str]:
    """SIGTERM to the worker's main process (or to all of its processes) with CONCURRENCY deliveries
    held; released once the signal is taken and either their connections have closed (the stop
    cut them) or GRACE s have passed (it waits for them); a new worker once the old one has
    exited. Also who delivered what was held: the stopping worker, or the next. A delivery cut
    after the SMTP server's reply would be sent twice; this cut comes before it."""
    prefix, accepted, gate = accept(stack, sink)
    held = [a for m in gate.arrived for a in m.rcpt_tos]
    worker = stack.running[0]
    old = set(worker.pids())
    stopped = time.monotonic()
    try:
        if sig == signal.SIGKILL:  # every process at once, as a crash takes them
            worker.kill()
            gate.wait_dropped(timeout=30)
        else:
            worker.signal(sig, group=group)
            worker.wait_settled(sig, sorted(old))
            try:  # a stop that cuts its deliveries closes their connections; one that waits, not
                gate.wait_dropped(timeout=GRACE)
            except TimeoutError:
                pass
    finally:
        gate.release()
    exited = worker.wait(60) is not None
    worker.stop()
    stack.running.remove(worker)
    stack.start_worker("w2")
    counted = count(stack, sink, prefix, accepted, window, held, stopped)
    senders = {e["pid"] for e in read_events(stack.events_path)
               if e["event"] == "mail_sent" and e["request_id"] in held}
    by = ("the stopping worker" if senders <= old else "the next worker" if not senders & old
          else "both") if senders else "nobody"
    return counted, by if exited else f"{by} (the worker did not exit within 60 s)"


@pytest.mark.parametrize("to", ["main", "group"])
def test_sigterm_mid_delivery(stacks: Any, sink: SmtpSink, engine: Engine, observe: Any, to: str) -> None:
    """A stop, not a crash: what SIGTERM to the worker (its main process, as a container runtime
    sends it; all of its processes, as systemd does) does to the deliveries it runs."""
    prop = f"sigterm_to_the_worker_{to}"
    declared = entry(prop, engine)
    stack = stacks(**settings("redelivery_after_worker_sigkill", engine, scale=STOP_SCALE))
    window = redelivery_window(engine, scale=STOP_SCALE)
    counted, by = sigterm_mid_delivery(stack, sink, to == "group", window)
    observe(prop, {**counted.observed(), "held_sent_by": by})
    assert (by, counted.lost, counted.twice) == (declared["value"], declared["lost"], declared["twice"]), \
        (by, counted)


def test_a_kill_in_place_of_the_stop_is_told_apart(stacks: Any, sink: SmtpSink, engine: Engine) -> None:
    """The measure can fail: SIGKILL where the check says SIGTERM (to the main process) is not
    what SIGTERM is declared to do."""
    declared = entry("sigterm_to_the_worker_main", engine)
    stack = stacks(**settings("redelivery_after_worker_sigkill", engine, scale=STOP_SCALE))
    counted, by = sigterm_mid_delivery(stack, sink, False, redelivery_window(engine, scale=STOP_SCALE),
                                       sig=signal.SIGKILL)
    assert (by, counted.lost, counted.twice) != (declared["value"], declared["lost"], declared["twice"]), \
        (by, counted)


def redis_killed(stack: Stack, sink: SmtpSink, engine: Engine, forget: bool = False) -> Counted:
    """SIGKILL of Redis with CONCURRENCY deliveries held and the rest queued; Redis started again at
    once on the same files (or, `forget`, on none: a Redis without persistence, with more accepted
    than any engine's worker takes ahead: Dramatiq's prefetches twice its threads)."""
    prefix, accepted, gate = accept(stack, sink, IN_FLIGHT * (3 if forget else 1))
    held = [a for m in gate.arrived for a in m.rcpt_tos]
    assert stack.redis is not None
    killed = time.monotonic()
    try:
        stack.redis.kill()
        if forget:
            for path in stack.redis.workdir.rglob("*.aof*"):
                path.unlink() if path.is_file() else None
        stack.redis.start()
    finally:
        gate.release()
    return count(stack, sink, prefix, accepted, redelivery_window(engine), held, killed)


def test_redis_killed_mid_delivery(stacks: Any, sink: SmtpSink, engine: Engine, observe: Any) -> None:
    """SIGKILL of Redis (append-only, fsync on every write) with CONCURRENCY deliveries held; Redis
    started again at once on the same files; what is lost or sent twice."""
    declared = entry("redis_sigkill", engine)
    counted = redis_killed(stacks(**settings("redelivery_after_worker_sigkill", engine)), sink, engine)
    observe("redis_sigkill", counted.observed())
    wanted = (declared["value"], declared["lost"], declared["twice"])
    assert (counted.how, counted.lost, counted.twice) == wanted, counted


def test_a_redis_that_forgets_is_told_apart(stacks: Any, sink: SmtpSink, engine: Engine) -> None:
    """The measure can fail: a Redis started again without its append-only file loses what was queued."""
    stack = stacks(**settings("redelivery_after_worker_sigkill", engine))
    counted = redis_killed(stack, sink, engine, forget=True)
    assert counted.lost > 0, counted


def retried_replies(stack: Stack, sink: SmtpSink, sender: str) -> list[str]:
    """The SMTP server's replies to one notification whose first round of attempts (clause 9's
    AFTERWARD_SMTP_ATTEMPTS, 4 by default) all fail with 451."""
    address = fresh_address()
    sink.fail("451 4.3.0 try again later", address, times=4)
    post(stack, address, sender)
    sink.wait_for(address, count=4, timeout=60)
    try:  # the next round comes 1 s after the first ends (durable.delivery's backoff)
        sink.wait_for(address, count=5, timeout=GRACE)
    except TimeoutError:
        pass
    return [m.reply[:3] for m in sink.to(address)]


@pytest.mark.parametrize("sender", ["sync", "async"])
def test_temporary_smtp_failures_are_retried_until_delivered(stacks: Any, sink: SmtpSink, engine: Engine,
                                                             sender: str) -> None:
    """Clause 16 on the engine: a round that ends on a temporary failure is tried again later (the
    engine's own retry: Celery's `retry`, arq's `Retry`, Dramatiq's `Retry`, taskiq's requeue), and
    the notification is delivered once, with either sender."""
    assert retried_replies(stacks(), sink, sender) == ["451"] * 4 + ["250"]


def test_one_round_only_is_told_apart(stacks: Any, sink: SmtpSink) -> None:
    """The measure can fail: with `AFTERWARD_DURABLE_ROUNDS=1` the notification is given up after
    its first round."""
    assert retried_replies(stacks(AFTERWARD_DURABLE_ROUNDS="1"), sink, "sync") == ["451"] * 4
