"""The durable apps' properties where they differ from the in-process apps, against the declared
values (durable/expected.toml)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from conformance.fixtures import Live, fresh_address
from durable.declared import declared
from durable.stack import DurableServer, Stack, durable_app
from shared.axes import Engine
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


def posting(url: str) -> Callable[[str], None]:
    def send(address: str) -> None:
        assert httpx.post(f"{url}/send-notification/{address}", timeout=30).status_code == 200

    return send


def test_notifications_in_flight_per_worker(live: Live, sink: SmtpSink) -> None:
    """One worker (a concurrency of 4: Celery's `--concurrency`, arq's `max_jobs`, Dramatiq's
    `--threads`, taskiq's `--max-async-tasks`) sends at most four notifications at once; the rest
    wait."""
    expected = declared("notifications_in_flight_per_worker")
    assert notifications_in_flight(posting(live.url), sink, expected) == expected


def test_a_worker_with_fewer_processes_is_told_apart(sink: SmtpSink, engine: Engine, tmp_path: Path) -> None:
    """The measure can fail: a worker with a concurrency of 2 measures 2, not the declared 4."""
    with Stack(durable_app("fastapi"), "uvicorn", sink.port, tmp_path, concurrency=2, engine=engine) as stack:
        assert stack.web is not None
        measured = notifications_in_flight(posting(stack.web.url), sink,
                                           declared("notifications_in_flight_per_worker"))
    assert measured == 2
