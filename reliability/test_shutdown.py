"""Shutdown: what SIGTERM delivers, against what the declared grace periods predict; what
SIGKILL loses, counted after a restart.

Notifications are accepted and held by the SMTP server when the signal arrives. With the
servers' and Quart's shutdown time-outs set (`configured`) every one is delivered. With
the defaults, the expectation comes from the semantics tier's declared table
(reliability/expectations.py): a server whose grace runs out before the hold ends cancels
`async def` senders, while `def` senders already in a worker thread finish.

Delivered means the SMTP sink answered 250 on a connection still open; each address is
counted, so a duplicate cannot stand in for a loss.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from conformance.fixtures import Live, Pair, start_live
from reliability import DELIVERED_BEFORE_KILL, HOLD_AFTER_SIGTERM, IN_FLIGHT
from reliability.delivery import Tally
from reliability.expectations import (
    CONFIGURED_GRACE,
    Shutdown,
    declared_framework,
    in_process_after_kill,
    outcome,
    split,
)
from shared.servers import RUNNABLE
from shared.sink import Gate, SmtpSink

#: Each server's grace period and Quart's, raised above any hold here. A server without a grace
#: has its one shutdown setting (`stop_option`: the time it gives a worker to exit before
#: killing it) set instead, so the row shows what that setting does.
CONFIGURED = {name: (record.stop_option, f"{CONFIGURED_GRACE:g}") for name, record in RUNNABLE.items()}
QUART_GRACE = {"QUART_BACKGROUND_TASK_SHUTDOWN_TIMEOUT": f"{CONFIGURED_GRACE:g}"}
#: Half `async def`, half `def` senders.
SENDERS = ["async"] * (IN_FLIGHT // 2) + ["sync"] * (IN_FLIGHT - IN_FLIGHT // 2)


def notify(client: httpx.Client, addresses: dict[str, str]) -> None:
    """One request per address (address -> sender), each answered 200."""
    for address, sender in addresses.items():
        assert client.post(f"/send-notification/{address}", params={"sender": sender}).status_code == 200


def accept_held(live: Live, sink: SmtpSink, prefix: str, model: Shutdown) -> tuple[dict[str, str], Gate]:
    """IN_FLIGHT notifications accepted over one connection while the SMTP server holds every
    e-mail to `prefix*`, brought to the model's starting point: every `async def` sender
    mid-send, then a pool's worth of `def` senders mid-send in their threads, the rest
    queued. The async ones go first because aiosmtplib looks up the local host name in the
    loop's default executor, which Litestar's and Quart's held `def` senders would fill."""
    senders = {f"{prefix}{n}@example.com": sender for n, sender in enumerate(SENDERS)}
    gate = sink.hold(lambda rcpts: any(r.startswith(prefix) for r in rcpts))
    with live.client() as client:
        for kind, count in (("async", split(SENDERS)["async"]), ("sync", model.running_sync(SENDERS))):
            mine = {a: s for a, s in senders.items() if s == kind}
            notify(client, mine)
            gate.wait_arrived(count=count, timeout=30, among=set(mine))
    return senders, gate


def held_at_sigterm(live: Live, sink: SmtpSink, prefix: str, model: Shutdown, hold: float,
                    window: float | None = None) -> tuple[dict[str, str], Tally, set[str], int | None, bool]:
    """`accept_held`, SIGTERM, the SMTP server's replies held `hold` s more, then the exit waited for (90
    s; with a `window`, until it ends, then SIGKILL to the whole group, the orchestrator's); the server
    stopped. Returns the senders, the tally at the SMTP server, the addresses the app saw delivered, the
    exit code and whether the window's SIGKILL was needed."""
    gate, killed = None, False
    try:
        senders, gate = accept_held(live, sink, prefix, model)
        signalled = time.monotonic()
        live.server.signal(signal.SIGTERM)
        if hold:
            time.sleep(hold)  # the scenario's slow SMTP server, not synchronisation
        gate.release()
        code = live.server.wait(90 if window is None else max(0.0, signalled + window - time.monotonic()))
        if code is None and window is not None:
            killed = True
            live.server.signal(signal.SIGKILL)
            live.server.wait(30)
    finally:
        if gate is not None:
            gate.release()
        live.server.stop()
    tally = Tally.of(senders, sink.deliveries(prefix).update())
    return senders, tally, {a for a in senders if live.events(a, "mail_sent")}, code, killed


def by_sender(delivered: set[str] | frozenset[str], senders: dict[str, str]) -> str:
    return outcome(split([senders[a] for a in delivered]), split(list(senders.values())))


@pytest.mark.parametrize("settings", ["configured", "defaults"])
def test_sigterm_delivers_what_the_grace_allows(pair: Pair, sink: SmtpSink, tmp_path: Path, settings: str,
                                                metric) -> None:
    """SIGTERM with notifications held at SMTP: delivered per sender, against the declared grace."""
    configured = settings == "configured"
    framework = declared_framework(pair)
    declare = Shutdown.configured if configured else Shutdown.declared
    model = declare(framework, pair.server, Shutdown.hold_for(framework, pair.server, HOLD_AFTER_SIGTERM))
    live = start_live(pair, sink, tmp_path, server_args=CONFIGURED[pair.server] if configured else (),
                      env=QUART_GRACE if configured else {})
    # The scenario: SMTP slower than the server's default grace.
    senders, tally, confirmed, code, _ = held_at_sigterm(live, sink, f"s{uuid.uuid4().hex[:8]}-", model,
                                                         model.hold)
    metric(pair, f"sigterm_confirmed_{settings}", by_sender(confirmed, senders), model.confirmed(SENDERS),
           model=model.why(), grace_s=model.grace, pool=model.pool, held_after_sigterm_s=model.hold)
    # At the SMTP server: every confirmed one, and at most the cancelled async sends besides.
    unrecorded = tally.delivered - confirmed
    bound = model.unrecorded_bound(SENDERS)
    within = (confirmed <= tally.delivered and len(unrecorded) <= bound and tally.duplicates == 0
              and all(senders[a] == "async" for a in unrecorded) and not tally.unexpected)
    metric(pair, f"sigterm_at_smtp_within_model_{settings}", within, True,
           at_smtp=by_sender(tally.delivered, senders), unrecorded=len(unrecorded), bound=bound,
           duplicates=tally.duplicates)
    metric(pair, f"sigterm_exited_{settings}", code is not None, True, exit_code=code)
    assert tally.duplicates == 0 and not tally.unexpected, tally.sample()


#: The orchestrators' stop windows: SIGTERM, then SIGKILL to every process of the container this many
#: seconds later (docker stop's default; Kubernetes' `terminationGracePeriodSeconds` default).
WINDOWS = {"docker": 10.0, "kubernetes": 30.0}
#: The held notifications' work left at SIGTERM is the window less this: work that fits in the window.
WINDOW_LEFT = 2.0


def window_setting(server: str, framework: str, window: float) -> tuple[tuple[str, ...], dict[str, str]]:
    """What loses nothing that fits in the window: every grace set to the window less a second (the
    server's, and Quart's own for its tasks); nothing where the server has no grace to set."""
    grace = f"{window - 1:g}"
    option = RUNNABLE[server].grace_option
    args = (option, grace) if option else ()
    return args, ({"QUART_BACKGROUND_TASK_SHUTDOWN_TIMEOUT": grace} if framework == "quart" else {})


def described(args: tuple[str, ...], env: dict[str, str]) -> str:
    return " ".join([*args, *(f"{k}={v}" for k, v in env.items())]) or "none: no grace to set"


@pytest.mark.parametrize("settings", ["defaults", "setting"])
@pytest.mark.parametrize("window", list(WINDOWS))
def test_stop_window_delivers_what_fits(pair: Pair, sink: SmtpSink, tmp_path: Path, window: str,
                                        settings: str, metric) -> None:
    """SIGTERM with notifications held WINDOW_LEFT s short of the window, then SIGKILL to the whole
    process group when the window ends (if anything is still up): delivered per sender, against the
    model, with the defaults and with `window_setting`."""
    seconds = WINDOWS[window]
    framework = declared_framework(pair)
    args, env = window_setting(pair.server, framework, seconds) if settings == "setting" else ((), {})
    hold = seconds - WINDOW_LEFT
    model = (Shutdown.configured(framework, pair.server, hold, grace=seconds - 1) if settings == "setting"
             else Shutdown.declared(framework, pair.server, hold))
    live = start_live(pair, sink, tmp_path, server_args=args, env=env)
    # The scenario: an SMTP server this slow, work that fits in the window.
    senders, tally, confirmed, _, killed = held_at_sigterm(live, sink, f"w{uuid.uuid4().hex[:8]}-", model,
                                                           hold, window=seconds)
    metric(pair, f"window_{window}_{settings}_confirmed", by_sender(confirmed, senders),
           model.confirmed(SENDERS),
           window_s=seconds, held_s=hold, setting=described(args, env), model=model.why(),
           killed_at_window=killed, at_smtp=by_sender(tally.delivered, senders))
    assert tally.duplicates == 0 and not tally.unexpected, tally.sample()


def test_sigkill_loses_what_is_in_flight_and_nothing_else(pair: Pair, sink: SmtpSink, tmp_path: Path,
                                                          metric) -> None:
    """SIGKILL with some notifications delivered and some held at SMTP; the app restarted;
    a fresh notification through it as a barrier; then, per address, what was ever delivered."""
    model = Shutdown.declared(declared_framework(pair), pair.server, hold=0)
    prefix = f"k{uuid.uuid4().hex[:8]}-"
    before = {f"{prefix}b{n}@example.com": ("async", "sync")[n % 2] for n in range(DELIVERED_BEFORE_KILL)}
    live = start_live(pair, sink, tmp_path)
    gate = None
    try:
        with live.client() as client:
            notify(client, before)
        sink.wait_delivered(set(before), prefix + "b", timeout=30)
        in_flight, gate = accept_held(live, sink, prefix + "f", model)
        at_kill = Counter(sink.deliveries(prefix).update())
        live.server.signal(signal.SIGKILL)
        live.server.wait(30)
        gate.wait_dropped(timeout=30)  # the SMTP server saw every held connection close
    finally:
        if gate is not None:
            gate.release()
        live.server.stop()
    # The same app, files and SMTP server again, as after a crash; a durable queue would
    # find its jobs here. The barrier: a fresh notification delivered through it.
    restarted = start_live(pair, sink, tmp_path)
    try:
        barrier = f"{prefix}barrier@example.com"
        with restarted.client() as client:
            notify(client, {barrier: "sync"})
        sink.wait_delivered({barrier}, barrier, timeout=30)
    finally:
        restarted.server.stop(grace=30)
    counts = sink.deliveries(prefix).update()
    flying = {a for a in in_flight if at_kill[a] == 0}  # accepted, not yet delivered at the kill
    lost = sum(1 for a in flying if counts[a] == 0)
    once = sum(1 for a in before if counts[a] == 1)
    expect_lost, expect_once = in_process_after_kill(len(flying), len(before))
    metric(pair, "sigkill_in_flight_lost", f"{lost}/{len(flying)}", expect_lost,
           in_flight_delivered_after_restart=len(flying) - lost,
           in_flight_duplicates=sum(max(0, counts[a] - 1) for a in flying))
    metric(pair, "sigkill_delivered_before_delivered_once", f"{once}/{len(before)}", expect_once,
           barrier_delivered=counts[barrier] > 0)
    # The scenario's preconditions, checked rather than assumed.
    assert all(at_kill[a] for a in before), "a notification meant to be delivered before the kill was not"
    assert len(flying) == IN_FLIGHT, "a held notification was delivered before the kill"
