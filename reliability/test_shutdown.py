"""Shutdown: SIGTERM must lose nothing that was accepted; SIGKILL shows the limit.

Notifications are accepted and held by the SMTP server when the signal arrives. With
the servers' and Quart's shutdown time-outs set (`configured`) every one is delivered;
with the defaults the outcome is measured and explained in docs/reliability.md: hypercorn
cancels what is still running after its 3-s `graceful_timeout`.
"""

from __future__ import annotations

import signal
import time
import uuid

import pytest

from conformance.fixtures import Live, Pair, start_live
from reliability import HOLD_AFTER_SIGTERM, IN_FLIGHT
from shared.sink import SmtpSink

#: Each server's grace period and Quart's, raised above any hold here.
CONFIGURED = {
    "uvicorn": ("--timeout-graceful-shutdown", "30"),
    "hypercorn": ("--graceful-timeout", "30"),
}
QUART_GRACE = {"QUART_BACKGROUND_TASK_SHUTDOWN_TIMEOUT": "30"}


def accept_held(live: Live, sink: SmtpSink) -> tuple[list[str], object]:
    prefix = f"s{uuid.uuid4().hex[:8]}-"
    addresses = [f"{prefix}{n}@example.com" for n in range(IN_FLIGHT)]
    gate = sink.hold(lambda rcpts: any(r.startswith(prefix) for r in rcpts))
    with live.client() as client:
        for n, address in enumerate(addresses):
            sender = ("async", "sync")[n % 2]
            assert client.post(f"/send-notification/{address}", params={"sender": sender}).status_code == 200
    return addresses, gate


def delivered(live: Live, addresses: list[str]) -> int:
    """Notifications whose sender saw the SMTP server's 250."""
    return sum(1 for a in addresses if live.events(a, "mail_sent"))


@pytest.mark.parametrize("settings", ["configured", "defaults"])
def test_sigterm_delivers_every_accepted_notification(pair: Pair, sink: SmtpSink, tmp_path, settings: str,
                                                      metric) -> None:
    """SIGTERM with notifications held at SMTP: delivered / accepted."""
    configured = settings == "configured"
    live = start_live(pair, sink, tmp_path, server_args=CONFIGURED[pair.server] if configured else (),
                      **(QUART_GRACE if configured else {}))
    try:
        addresses, gate = accept_held(live, sink)
        gate.wait_arrived(count=min(IN_FLIGHT, 6), timeout=30)  # at least one pool's worth in flight
        live.server.signal(signal.SIGTERM)
        if HOLD_AFTER_SIGTERM:
            time.sleep(HOLD_AFTER_SIGTERM)  # the scenario: SMTP slower than hypercorn's default grace
        gate.release()
        code = live.server.wait(90)
    finally:
        gate.release()
        live.server.stop()
    count = delivered(live, addresses)
    ratio = f"{count}/{len(addresses)}"
    if configured:
        assert metric(pair, "sigterm_delivered_configured", ratio, f"{IN_FLIGHT}/{IN_FLIGHT}", exit_code=code)
    else:
        metric(pair, "sigterm_delivered_defaults", ratio, held_after_sigterm_s=HOLD_AFTER_SIGTERM, exit_code=code)


def test_sigkill_loses_what_is_in_flight(pair: Pair, sink: SmtpSink, tmp_path, metric) -> None:
    """SIGKILL with notifications held at SMTP: in-process tasks die with the process."""
    live = start_live(pair, sink, tmp_path)
    try:
        addresses, gate = accept_held(live, sink)
        gate.wait_arrived(count=min(IN_FLIGHT, 6), timeout=30)
        live.server.signal(signal.SIGKILL)
        live.server.wait(30)
    finally:
        gate.release()
        live.server.stop()
    lost = len(addresses) - delivered(live, addresses)
    metric(pair, "sigkill_lost", f"{lost}/{len(addresses)}")
    assert lost > 0, "nothing was in flight: the scenario did not happen"
