"""SMTP faults: down, slow, temporary (4xx) and permanent (5xx) failures.

The client has already seen 200 (clause 10), so what matters is on the server: it keeps
answering, each failure is recorded with its request id (event and log line), temporary
failures are retried with bounded backoff and permanent ones are not.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from conformance.fixtures import Live, Pair, fresh_address, start_live
from conformance.test_contract import DEFAULT_TIME_OUT, TIME_OUT_EARLY, TIME_OUT_LATE  # clause 9's default
from shared.sink import SmtpSink

#: Short time-outs and backoff, so that each fault plays out in well under a second.
FAULTY = {"AFTERWARD_SMTP_TIMEOUT": "1", "AFTERWARD_SMTP_ATTEMPTS": "3", "AFTERWARD_SMTP_BACKOFF": "0.05"}


@pytest.fixture(scope="session")
def faulty(pair: Pair, sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    live = start_live(pair, sink, tmp_path_factory.mktemp(f"faults-{pair}"), env=FAULTY)
    yield live
    live.server.stop()


def notify(live: Live, address: str, sender: str) -> None:
    with live.client() as client:
        assert client.post(f"/send-notification/{address}", params={"sender": sender}).status_code == 200


def still_serving(live: Live) -> bool:
    with live.client() as client:
        return client.get("/health").status_code == 200


def wait_logged(live: Live, address: str, timeout: float = 10.0) -> bool:
    """Whether the final failure's log line for `address` reaches the server's log within the
    deadline. The app logs it before recording the event, but Litestar's default logging
    writes through a queue and a listener thread, so the line can land just after."""
    deadline = time.monotonic() + timeout
    while True:
        if any(address in line and "failed" in line for line in live.server.log_tail(100_000).splitlines()):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)  # polling a file with a deadline, as Live.wait_event does


def failures(live: Live, address: str) -> str:
    """The sender's own record: one letter per failed attempt, T(emporary) or P(ermanent),
    the final one marked with `!`."""
    return "".join(("T" if e["temporary"] else "P") + ("!" if e["final"] else "")
                   for e in live.events(address, "mail_failed")) or "-"


def replies(mails: list) -> list[str]:
    """Each copy's reply code, or `(closed)` for one whose client gave up before the reply."""
    return [m.reply[:3] if m.replied else "(closed)" for m in mails]


def story(replies: list[str], failed: str, serving: bool, **more: object) -> str:
    """What happened, in one comparable line: the SMTP replies in order, the failures
    recorded, whether the app still answers; e.g. '451 250 | T | serving'."""
    extra = "".join(f" | {k} {v}" for k, v in more.items())
    return f"{' '.join(replies) or '-'} | {failed}{extra} | {'serving' if serving else 'NOT serving'}"


@pytest.mark.parametrize("sender", ["sync", "async"])
def test_temporary_failure_is_retried_and_delivered(pair: Pair, faulty: Live, sink: SmtpSink, sender: str,
                                                   metric) -> None:
    """A 451 is recorded as temporary, retried after a backoff, and the retry is delivered."""
    address = fresh_address()
    sink.fail("451 4.7.1 try again later", address)
    notify(faulty, address, sender)
    faulty.wait_event(address, "mail_sent")
    replies = [m.reply[:3] for m in sink.to(address)]
    observed = story(replies, failures(faulty, address), still_serving(faulty))
    expected = story(["451", "250"], "T", True)
    assert metric(pair, f"smtp_4xx_retried_and_delivered[{sender}]", observed, expected)


@pytest.mark.parametrize("sender", ["sync", "async"])
def test_permanent_failure_is_recorded_once_and_not_retried(pair: Pair, faulty: Live, sink: SmtpSink,
                                                           sender: str, metric) -> None:
    """A 550 is recorded as final, logged with the address, and never retried."""
    address = fresh_address()
    sink.fail("550 5.1.1 no such mailbox", address)
    notify(faulty, address, sender)
    faulty.wait_event(address, "mail_failed")
    logged = wait_logged(faulty, address)
    replies = [m.reply[:3] for m in sink.to(address)]
    observed = story(replies, failures(faulty, address), still_serving(faulty),
                     attempts=len(faulty.events(address, "mail_started")), logged=logged)
    expected = story(["550"], "P!", True, attempts=1, logged=True)
    assert metric(pair, f"smtp_5xx_recorded_not_retried[{sender}]", observed, expected)


def test_slow_server_times_out_and_the_retry_is_delivered(pair: Pair, faulty: Live, sink: SmtpSink,
                                                          metric) -> None:
    """A server holding its reply past the time-out: a temporary failure, then a delivered retry.

    The first copy's data had reached the server before the sender gave up and closed
    the connection, so the server holds two copies and has answered one: whether it
    delivers the other is the server's choice (RFC 1047), the duplicate that
    at-least-once delivery over SMTP implies.
    """
    address = fresh_address()
    gate = sink.hold(address)
    try:
        notify(faulty, address, "async")
        faulty.wait_event(address, "mail_failed", attempt=1)
        serving_while_held = still_serving(faulty)
    finally:
        gate.release()
    faulty.wait_event(address, "mail_sent")
    copies = sink.to(address)
    observed = story(replies(copies), failures(faulty, address),
                     serving_while_held and still_serving(faulty))
    assert metric(pair, "smtp_slow_retried_and_delivered", observed, story(["(closed)", "250"], "T", True),
                  copies_received=len(copies), copies_delivered=sum(m.delivered for m in copies))


def test_server_down_is_retried_a_bounded_number_of_times(pair: Pair, sink: SmtpSink, tmp_path,
                                                          metric) -> None:
    """No SMTP server at all: refused connections, retried `AFTERWARD_SMTP_ATTEMPTS` times, recorded."""
    with socket.socket() as nobody:
        nobody.bind(("127.0.0.1", 0))  # bound and never listening: every connection is refused
        env = {**FAULTY, "AFTERWARD_SMTP_PORT": str(nobody.getsockname()[1])}
        live = start_live(pair, sink, tmp_path, env=env)
        try:
            address = fresh_address()
            notify(live, address, "sync")
            live.wait_event(address, "mail_failed", final=True)
            observed = story([], failures(live, address), still_serving(live))
        finally:
            live.server.stop()
    attempts = int(FAULTY["AFTERWARD_SMTP_ATTEMPTS"])
    expected = story([], "T" * (attempts - 1) + "T!", True)
    assert metric(pair, "smtp_down_retried_and_recorded", observed, expected, settings=FAULTY)




def test_default_time_out_is_30_s(pair: Pair, sink: SmtpSink, tmp_path, metric) -> None:
    """With `AFTERWARD_SMTP_TIMEOUT` unset, an SMTP server that holds its reply makes each sender give
    up after 30 s, by the app's own clock (from the attempt's `mail_started` to its `mail_failed`),
    and the retry is delivered. Both senders wait at once: one 30-s wait per pair, a run of its own
    (the full run has it on every pair, the quick run on one)."""
    env = {**FAULTY, "AFTERWARD_SMTP_TIMEOUT": ""}  # "" removes it: the app's default
    live = start_live(pair, sink, tmp_path, env=env)
    try:
        stories = waited_out_default_time_out(pair, live, sink, metric)
    finally:
        live.server.stop()
    wrong = {sender: observed for sender, (observed, expected) in stories.items() if observed != expected}
    assert len(stories) == 2 and not wrong, f"expected {next(iter(stories.values()))[1]!r}; observed {wrong}"


def waited_out_default_time_out(pair: Pair, live: Live, sink: SmtpSink, metric) -> dict[str, tuple[str, str]]:
    """Sender -> (observed, expected), each also recorded as a metric."""
    addresses = {sender: fresh_address() for sender in ("sync", "async")}
    gates = [sink.hold_first(address) for address in addresses.values()]  # the retries are answered
    try:
        for sender, address in addresses.items():
            notify(live, address, sender)
        failed = {s: live.wait_event(a, "mail_failed", timeout=2 * DEFAULT_TIME_OUT, attempt=1)
                  for s, a in addresses.items()}
    finally:
        for gate in gates:
            gate.release()
    stories = {}
    for sender, address in addresses.items():
        live.wait_event(address, "mail_sent")
        started = live.wait_event(address, "mail_started", attempt=1)
        gave_up = failed[sender]["t"] - started["t"]
        within = DEFAULT_TIME_OUT - TIME_OUT_EARLY <= gave_up <= DEFAULT_TIME_OUT + TIME_OUT_LATE
        observed = story(replies(sink.to(address)), failures(live, address), still_serving(live),
                         gave_up_after=f"{DEFAULT_TIME_OUT:g} s" if within else f"{gave_up:.2f} s")
        expected = story(["(closed)", "250"], "T", True, gave_up_after=f"{DEFAULT_TIME_OUT:g} s")
        metric(pair, f"smtp_default_time_out[{sender}]", observed, expected, seconds=round(gave_up, 3),
               bounds=[DEFAULT_TIME_OUT - TIME_OUT_EARLY, DEFAULT_TIME_OUT + TIME_OUT_LATE])
        stories[sender] = (observed, expected)
    return stories
