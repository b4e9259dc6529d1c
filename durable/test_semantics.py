"""The durable apps' properties where they differ from the in-process apps, against the declared
values (durable/expected.toml)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from conformance.fixtures import Live, fresh_address
from durable.declared import declared
from durable.stack import DurableServer, Stack
from durable.test_tasks import deliver
from shared.sink import SmtpSink

#: How long one more notification is watched for once as many as declared are held at the
#: SMTP server: a worker with a process to spare would send it within milliseconds.
WINDOW = 1.0


def task_runs_in_another_process(live: Live, sink: SmtpSink) -> bool:
    """Whether both senders' e-mails are sent by a process other than the web server's."""
    assert isinstance(live.server, DurableServer)
    pids = []
    for sender in ("sync", "async"):
        address = fresh_address()
        with live.client() as client:
            assert client.post(f"/send-notification/{address}", params={"sender": sender}).status_code == 200
        pids.append(live.wait_event(address, "mail_sent", timeout=30)["pid"])
    return not set(pids) & set(live.server.web_pids())


def test_task_runs_in_another_process(live: Live, sink: SmtpSink) -> None:
    """The e-mail is sent by a process other than the web server's, with either sender."""
    assert task_runs_in_another_process(live, sink) == declared("task_runs_in_another_process")


def notifications_in_flight(send: Callable[[str], None], sink: SmtpSink, expected: int) -> int:
    """How many of `expected + 2` notifications one worker sends at once: each e-mail's reply is
    held at the SMTP server; `expected` must arrive, then one more within `WINDOW` if it can."""
    prefix = f"inflight-{uuid.uuid4().hex[:10]}-"
    addresses = [f"{prefix}{n}@example.com" for n in range(expected + 2)]
    gate = sink.hold(lambda rcpts: any(r.startswith(prefix) for r in rcpts))
    try:
        for address in addresses:
            send(address)
        try:
            gate.wait_arrived(expected, timeout=30)
            gate.wait_arrived(expected + 1, timeout=WINDOW)
        except TimeoutError:
            pass
        held = len(gate.arrived)
    finally:
        gate.release()
    for address in addresses:  # nothing lost: each is sent once its turn comes
        sink.wait_for(address, timeout=30)
    return held


def test_notifications_in_flight_per_worker(live: Live, sink: SmtpSink) -> None:
    """One worker (`--concurrency 4`) sends at most four notifications at once; the rest wait."""
    expected = declared("notifications_in_flight_per_worker")

    def send(address: str) -> None:
        with live.client() as client:
            assert client.post(f"/send-notification/{address}").status_code == 200

    assert notifications_in_flight(send, sink, expected) == expected


def test_a_worker_with_fewer_processes_is_told_apart(sink: SmtpSink, tmp_path: Path) -> None:
    """The measure can fail: a worker with `--concurrency 2` measures 2, not the declared 4."""
    with Stack("", "uvicorn", sink.port, tmp_path, concurrency=2).start(web=False) as stack:
        measured = notifications_in_flight(lambda a: deliver(stack, a, str(uuid.uuid4())), sink,
                                           declared("notifications_in_flight_per_worker"))
    assert measured == 2
