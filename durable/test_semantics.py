"""The durable apps' properties where they differ from the in-process apps, against the declared
values (durable/expected.toml)."""

from __future__ import annotations

from conformance.fixtures import Live, fresh_address
from durable.declared import declared
from durable.stack import DurableServer
from shared.sink import SmtpSink


def task_runs_in_another_process(live: Live, sink: SmtpSink) -> bool:
    address = fresh_address()
    with live.client() as client:
        assert client.post(f"/send-notification/{address}", params={"sender": "async"}).status_code == 200
    sent = live.wait_event(address, "mail_sent", timeout=30)
    assert isinstance(live.server, DurableServer)
    return sent["pid"] not in live.server.web_pids()


def test_task_runs_in_another_process(live: Live, sink: SmtpSink) -> None:
    """The e-mail is sent by a process other than the web server's."""
    assert task_runs_in_another_process(live, sink) == declared("task_runs_in_another_process")
