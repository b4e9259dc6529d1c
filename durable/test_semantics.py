"""The durable apps' properties where they differ from the in-process apps, against the declared
values (durable/expected.toml)."""

from __future__ import annotations

from conformance.fixtures import Live, fresh_address
from durable.declared import declared
from durable.stack import DurableServer
from shared.sink import SmtpSink


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
