"""A stop is not a crash (clause 15): SIGTERM to the worker, to its main process or to every
process of it at once, with deliveries mid-send and more queued, sends each notification once.

The SMTP server holds every e-mail, so the worker's whole pool is mid-send when the signal
comes; the e-mails are let through once it has been taken, a new worker takes what is left,
and each address is counted once the broker holds no message. The worker without
`finish_before_sigterm` (Celery's own handling of SIGTERM in a pool process) is caught
sending the held ones twice.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from durable.stack import Stack
from durable.test_tasks import deliver
from reliability.delivery import Tally
from shared.sink import SmtpSink

#: The worker's pool: that many deliveries are mid-send at the signal; as many more are queued.
HELD = 4
INTERRUPTIBLE = "durable.wrong_apps.interruptible_tasks"


def stopped_mid_send(sink: SmtpSink, workdir: Path, group: bool, tasks: str) -> Tally:
    """2 x HELD notifications (both senders) to a worker whose pool holds HELD of them at the SMTP
    server when SIGTERM comes, to its main process or (`group`) to all of its processes; every
    address counted once a new worker has taken the rest."""
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    addresses = {f"{prefix}{n}@example.com": sender for n, sender in enumerate(["async", "sync"] * HELD)}
    gate = sink.hold(lambda rcpts: any(r.startswith(prefix) for r in rcpts))
    with Stack("", "uvicorn", sink.port, workdir, concurrency=HELD, tasks=tasks).start(web=False) as stack:
        try:
            for address, sender in addresses.items():
                deliver(stack, address, str(uuid.uuid4()), sender)
            gate.wait_arrived(count=HELD, timeout=60)
            worker = stack.sigterm_worker(group)
        finally:
            gate.release()
        stack.replace_worker(worker)
        sink.wait_delivered(set(addresses), prefix, timeout=60)
        stack.wait_drained(timeout=60)  # every message handed out has run: its e-mail is counted
    return Tally.of(addresses, sink.deliveries(prefix).update())


@pytest.mark.parametrize("stop", ["group", "main"])
def test_a_stopped_worker_finishes_its_deliveries_and_sends_each_once(sink: SmtpSink, tmp_path: Path,
                                                                     stop: str) -> None:
    """Clause 15: SIGTERM to every process of the worker (systemd's default) or to its main process
    (a container's PID 1): nothing lost, nothing sent twice."""
    tally = stopped_mid_send(sink, tmp_path, stop == "group", "durable.tasks")
    assert (sorted(tally.missing), tally.duplicates) == ([], 0), tally.sample()


def test_a_pool_that_takes_sigterm_mid_send_is_caught_sending_twice(sink: SmtpSink, tmp_path: Path) -> None:
    """Celery's own SIGTERM in a pool process: each held delivery's e-mail is answered `250` after
    its process began to exit, is never marked done, and its requeued message sends it again."""
    tally = stopped_mid_send(sink, tmp_path, True, INTERRUPTIBLE)
    assert not tally.missing and tally.duplicates == HELD, tally.sample()
