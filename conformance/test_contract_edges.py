"""The contract tier's edge cases: what mutation testing (docs/mutation.md) found unchecked.

Failures after the answer (clause 10) and the settings that shape them (clause 9), for both
senders, through the SMTP sink's fault modes. The app says it has given up with its final
`mail_failed` event (clause 11): that is the end these tests wait for, with a deadline, before
counting attempts at the sink.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conformance.fixtures import EXTERNAL, Live, Pair, fresh_address, not_applicable, start_live
from conformance.test_contract import DEADLINE, notify
from shared.sink import Received, SmtpSink

SENDERS = ["sync", "async"]
TEMPORARY = "451 4.3.0 try again later"
#: The edges of the two ranges: the lowest and highest temporary, the lowest permanent reply code.
LOWEST_TEMPORARY = "400 4.0.0 try again later"
HIGHEST_TEMPORARY = "499 4.0.0 try again later"
LOWEST_PERMANENT = "500 5.0.0 not accepted"
#: The spec's defaults (clause 9): four attempts, waits of 0.2 s doubling, capped at 2 s.
ATTEMPTS, BACKOFF, CAP = 4, 0.2, 2.0
#: What a correct app may add to a wait: reconnecting and the SMTP dialogue, on a busy machine.
#: Below the smallest wrong wait a broken backoff makes here (a step 1 s too long).
SLACK = 0.9


@pytest.fixture(autouse=True)
def suite_servers_only(pair: Pair) -> None:
    """These checks read the server's output and start servers of their own: with `--url` they
    are not applicable (test_contract.py's own checks of clauses 9 and 10 run there)."""
    if pair.server == EXTERNAL:
        not_applicable("an edge case that reads the server's output or starts servers of its own")


def given_up(live: Live, address: str) -> dict:
    """The final `mail_failed` event for `address`: the app will try no more."""
    return live.wait_event(address, "mail_failed", timeout=DEADLINE * 3, final=True)


def logged(live: Live, address: str) -> bool:
    """Whether the server's output names `address` (the final failure's ERROR record), polled with a
    deadline: a framework may log through a queue, so the line can land just after the event."""
    deadline = time.monotonic() + DEADLINE
    records = getattr(live, "records_path", None)  # the app's log records, where the suite keeps them

    def output() -> str:
        kept = records.read_text(errors="replace") if records is not None and records.exists() else ""
        return kept + live.server.log_tail(200)

    while address not in output():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def gaps(mails: list[Received]) -> list[float]:
    """Seconds between one attempt's failure reply and the next attempt's arrival at the sink."""
    return [b.arrived - a.replied for a, b in zip(mails, mails[1:]) if a.replied is not None]


@contextmanager
def configured(pair: Pair, sink: SmtpSink, workdir: Path, **settings: str) -> Iterator[Live]:
    """The app under test in a server of its own, started with these settings."""
    running = start_live(pair, sink, workdir, **settings)
    try:
        yield running
    finally:
        running.server.stop()


@pytest.mark.clause("10")
@pytest.mark.parametrize("sender", SENDERS)
def test_temporary_failure_is_retried_and_the_email_delivered_once(live: Live, sink: SmtpSink,
                                                                     address: str, sender: str) -> None:
    """Clause 10: 4xx replies (400 and 499, the edges) are retried; a retry delivers the one e-mail."""
    sink.fail(LOWEST_TEMPORARY, address, times=1)
    sink.fail(HIGHEST_TEMPORARY, address, times=1)
    assert notify(live, address, sender=sender).status_code == 200
    mails = sink.wait_for(address, count=3, timeout=DEADLINE)
    assert [m.reply[:3] for m in mails] == ["400", "499", "250"]
    failed = live.wait_event(address, "mail_failed")
    assert (failed["attempt"], failed["temporary"], failed["final"]) == (1, True, False)
    live.wait_event(address, "mail_sent", attempt=3)


@pytest.mark.clause("10")
@pytest.mark.parametrize("sender", SENDERS)
def test_permanent_failure_is_not_retried(live: Live, sink: SmtpSink, address: str, sender: str) -> None:
    """Clause 10: a 5xx reply (500, the lowest) is final at the first attempt, and logged as such."""
    sink.fail(LOWEST_PERMANENT, address, times=ATTEMPTS)
    assert notify(live, address, sender=sender).status_code == 200
    final = given_up(live, address)
    assert (final["attempt"], final["temporary"]) == (1, False)
    assert [m.reply[:3] for m in sink.to(address)] == ["500"]
    assert logged(live, address), "no ERROR record of the final failure in the server's output"


@pytest.mark.clause("10")
@pytest.mark.parametrize("sender", SENDERS)
def test_temporary_failures_end_after_the_default_attempts_with_doubling_waits(
        live: Live, sink: SmtpSink, address: str, sender: str) -> None:
    """Clauses 9 and 10: 4xx every time: four attempts, 0.2, 0.4 and 0.8 s apart, the last one final."""
    sink.fail(TEMPORARY, address, times=ATTEMPTS + 2)
    assert notify(live, address, sender=sender).status_code == 200
    final = given_up(live, address)
    mails = sink.to(address)
    assert len(mails) == ATTEMPTS and final["attempt"] == ATTEMPTS and final["temporary"] is True
    failed = live.events(address, "mail_failed")
    expected = [(n, n == ATTEMPTS) for n in range(1, ATTEMPTS + 1)]
    assert [(e["attempt"], e["final"]) for e in failed] == expected
    waits = [min(BACKOFF * 2**n, CAP) for n in range(ATTEMPTS - 1)]
    for n, (gap, wait) in enumerate(zip(gaps(mails), waits), start=1):
        assert wait <= gap <= wait + SLACK, f"retry {n} came {gap:.2f} s after the failure, not {wait:g} s"
    assert logged(live, address), "no ERROR record of the final failure in the server's output"


@pytest.mark.clause("9")
@pytest.mark.parametrize("sender", SENDERS)
def test_configured_attempts_and_backoff_with_its_cap(pair: Pair, sink: SmtpSink, tmp_path: Path,
                                                      address: str, sender: str) -> None:
    """Clause 9: `AFTERWARD_SMTP_ATTEMPTS=3`, `AFTERWARD_SMTP_BACKOFF=1.5`: three attempts, waits of
    1.5 s and 2 s (3 s capped); `AFTERWARD_MAIL_FROM` is the envelope's sender."""
    sink.fail(TEMPORARY, address, times=5)
    with configured(pair, sink, tmp_path, AFTERWARD_SMTP_ATTEMPTS="3", AFTERWARD_SMTP_BACKOFF="1.5",
                    AFTERWARD_MAIL_FROM="notices@example.org") as live:
        assert notify(live, address, sender=sender).status_code == 200
        final = given_up(live, address)
    mails = sink.to(address)
    assert len(mails) == 3 and final["attempt"] == 3
    assert {m.mail_from for m in mails} == {"notices@example.org"}
    for n, (gap, wait) in enumerate(zip(gaps(mails), [1.5, CAP]), start=1):
        assert wait <= gap <= wait + SLACK, f"retry {n} came {gap:.2f} s after the failure, not {wait:g} s"


@pytest.mark.clause("9")
@pytest.mark.parametrize("sender", SENDERS)
def test_configured_timeout_ends_an_attempt_and_counts_as_temporary(
        pair: Pair, sink: SmtpSink, tmp_path: Path, address: str, sender: str) -> None:
    """Clauses 9 and 10: with `AFTERWARD_SMTP_TIMEOUT=1`, a reply held longer times the attempt out, a
    temporary failure; with `AFTERWARD_SMTP_ATTEMPTS=1` that one attempt is also the last."""
    gate = sink.hold(address)
    try:
        settings = {"AFTERWARD_SMTP_TIMEOUT": "1", "AFTERWARD_SMTP_ATTEMPTS": "1"}
        with configured(pair, sink, tmp_path, **settings) as live:
            assert notify(live, address, sender=sender).status_code == 200
            final = given_up(live, address)
    finally:
        gate.release()
    assert (final["attempt"], final["temporary"]) == (1, True)
    assert len(sink.to(address)) == 1
    (started,) = live.events(address, "mail_started")
    assert final["t"] - started["t"] >= 1.0, "the attempt ended before its time-out"


class RefusingServer:
    """A real SMTP server (aiosmtpd) that refuses every recipient at `RCPT TO`, with 450 for an
    address starting `temp`, 550 for any other, and counts the refusals per address."""

    def __init__(self) -> None:
        self.refused: Counter[str] = Counter()
        self._sink = SmtpSink()  # its loop thread and socket; the handler is this object
        self._sink.handle_RCPT = self.handle_RCPT  # type: ignore[attr-defined]

    async def handle_RCPT(self, server: object, session: object, envelope: object, address: str,
                          options: list[str]) -> str:
        self.refused[address] += 1
        return "450 4.2.1 mailbox busy" if address.startswith("temp") else "550 5.1.1 no such mailbox"

    def __enter__(self) -> SmtpSink:
        return self._sink.start()

    def __exit__(self, *exc: object) -> None:
        self._sink.stop()


@pytest.mark.clause("10")
def test_refused_recipient_is_temporary_or_permanent_by_its_code(pair: Pair, sink: SmtpSink,
                                                                 tmp_path: Path) -> None:
    """Clause 10: a recipient refused at `RCPT TO` with 4xx is retried, with 5xx it is not (both senders)."""
    refusing = RefusingServer()
    with refusing as server, configured(pair, server, tmp_path, AFTERWARD_SMTP_ATTEMPTS="2",
                                        AFTERWARD_SMTP_BACKOFF="0.05") as live:
        cases = {(kind, sender): f"{kind}-{sender}-{fresh_address()}"
                 for kind in ("temp", "perm") for sender in SENDERS}
        for (kind, sender), address in cases.items():
            assert notify(live, address, sender=sender).status_code == 200
        finals = {case: given_up(live, address) for case, address in cases.items()}
    for (kind, sender), address in cases.items():
        attempts = 2 if kind == "temp" else 1
        assert refusing.refused[address] == attempts, f"{kind} refusal, {sender} sender"
        final = finals[kind, sender]
        assert (final["attempt"], final["temporary"]) == (attempts, kind == "temp")
