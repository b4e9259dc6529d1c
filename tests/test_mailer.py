from collections.abc import Iterator

import pytest

from shared.mailer import build_message, write_notification, write_notification_async
from shared.recorder import read_events
from shared.sink import SmtpSink


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path, sink: SmtpSink) -> Iterator[str]:
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("AFTERWARD_SMTP_PORT", str(sink.port))
    monkeypatch.setenv("AFTERWARD_EVENTS", str(events))
    monkeypatch.setenv("AFTERWARD_SMTP_BACKOFF", "0.01")
    yield str(events)


def test_header_injection_is_refused_by_the_message_builder() -> None:
    with pytest.raises(ValueError):
        build_message("a@example.com\r\nBcc: x@example.com", "hi", "me@localhost").as_bytes()


@pytest.mark.parametrize("sender", ["sync", "async"])
def test_temporary_failure_is_retried_then_delivered(env: str, sink: SmtpSink, address: str,
                                                     sender: str) -> None:
    import asyncio

    sink.fail("451 4.3.0 try again later", address)
    if sender == "sync":
        write_notification(address)
    else:
        asyncio.run(write_notification_async(address))
    assert [m.reply[:3] for m in sink.to(address)] == ["451", "250"]
    kinds = [e["event"] for e in read_events(env)]
    assert kinds == ["mail_started", "mail_failed", "mail_started", "mail_sent"]


@pytest.mark.parametrize("sender", ["sync", "async"])
def test_permanent_failure_is_recorded_and_not_retried(env: str, sink: SmtpSink, address: str,
                                                       sender: str) -> None:
    import asyncio

    sink.fail("550 5.1.1 no such user", address)
    if sender == "sync":
        write_notification(address)
    else:
        asyncio.run(write_notification_async(address))
    assert len(sink.to(address)) == 1
    failed = [e for e in read_events(env) if e["event"] == "mail_failed"]
    assert len(failed) == 1 and failed[0]["final"] and not failed[0]["temporary"]
    assert failed[0]["request_id"] == address


def test_unreachable_server_is_retried_a_bounded_number_of_times(env: str, monkeypatch: pytest.MonkeyPatch,
                                                                address: str) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        monkeypatch.setenv("AFTERWARD_SMTP_PORT", str(port))
        monkeypatch.setenv("AFTERWARD_SMTP_ATTEMPTS", "3")
        write_notification(address)
    failed = [e for e in read_events(env) if e["event"] == "mail_failed"]
    assert [e["attempt"] for e in failed] == [1, 2, 3]
    assert failed[-1]["final"]


@pytest.mark.parametrize("sender", ["sync", "async"])
@pytest.mark.parametrize("replies, outcome", [([], "sent"), (["550 5.1.1 no such user"], "permanent"),
                                              (["451 4.3.0 later"] * 2, "temporary")],
                         ids=["sent", "permanent", "temporary"])
def test_sender_says_how_its_attempts_ended(env: str, monkeypatch: pytest.MonkeyPatch, sink: SmtpSink,
                                            address: str, sender: str, replies: list[str],
                                            outcome: str) -> None:
    """What a durable queue's task decides on: sent, given up for good, or worth another round."""
    import asyncio

    monkeypatch.setenv("AFTERWARD_SMTP_ATTEMPTS", "2")
    for reply in replies:
        sink.fail(reply, address)
    run = write_notification if sender == "sync" else lambda a: asyncio.run(write_notification_async(a))
    assert run(address) == outcome
