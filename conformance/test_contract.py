"""The contract tier: what every implementation of `shared/SPEC.md` must do.

Runs against the four reference apps, or against any app given with `--app`. Black box:
only HTTP, the SMTP sink and the notification log, so it checks apps that do not use
this project's `shared/` code too. Every wait is on a gate or an arrival, with a deadline
that only a failing app reaches.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from conformance.fixtures import Live, fresh_address
from shared.sink import SmtpSink
from shared.spec import INVALID_INPUT, MAX_QUERY_LENGTH, NOTIFICATION_MESSAGE, SENT_MESSAGE, log_line

#: A correct app answers in milliseconds; only a wrong one ever reaches this.
DEADLINE = 10.0


def notify(live: Live, address: str, timeout: float = DEADLINE, **params: str) -> httpx.Response:
    with live.client(timeout=timeout) as client:
        return client.post(f"/send-notification/{address}", params=params)


@pytest.mark.clause("1")
def test_accepted_request_is_answered_200_with_the_spec_body(live: Live, sink: SmtpSink, address: str) -> None:
    """Clause 1: `POST /send-notification/{email}` answers 200 and the spec's JSON body."""
    response = notify(live, address)
    assert response.status_code == 200
    assert response.json() == SENT_MESSAGE
    sink.wait_for(address)


@pytest.mark.clause("3")
def test_exactly_one_email_reaches_the_recipient(fresh_live: Live, sink: SmtpSink) -> None:
    """Clause 3: one e-mail per accepted request, to the address, saying the notification."""
    addresses = {sender: fresh_address() for sender in ("sync", "async")}
    for sender, address in addresses.items():
        assert notify(fresh_live, address, sender=sender).status_code == 200
        sink.wait_for(address)
    # A graceful stop lets every task finish: whatever the app was going to send, it has sent.
    fresh_live.server.stop(grace=30)
    for sender, address in addresses.items():
        mails = sink.to(address)
        assert len(mails) == 1, f"{len(mails)} e-mails to {address} from the {sender} sender"
        assert mails[0].message.get_content().strip() == NOTIFICATION_MESSAGE


@pytest.mark.clause("2")
@pytest.mark.parametrize("sender", ["sync", "async"])
def test_log_entry_is_written_before_the_email_is_sent(live: Live, sink: SmtpSink, address: str,
                                                       sender: str) -> None:
    """Clause 2: with `q`, the log line is in the log by the time the e-mail reaches SMTP."""
    q = f"order-{address.partition('@')[0]}"
    gate = sink.hold(address)
    try:
        assert notify(live, address, q=q, sender=sender).status_code == 200
        gate.wait_arrived()
        assert log_line(q) in live.log_lines(), "the e-mail reached SMTP before the log entry was written"
    finally:
        gate.release()
    sink.wait_for(address)


@pytest.mark.clause("5")
@pytest.mark.parametrize("sender", ["sync", "async"])
def test_client_has_the_answer_while_the_email_is_still_held(live: Live, sink: SmtpSink, address: str,
                                                             sender: str) -> None:
    """Clause 5: the whole answer reaches the client while the e-mail task is still held."""
    gate = sink.hold(address)
    try:
        try:
            response = notify(live, address, sender=sender)
        except httpx.TimeoutException:
            pytest.fail(f"no answer within {DEADLINE:g} s while the e-mail was held: "
                        "the app answers only after its task")
        assert response.status_code == 200
        assert response.json() == SENT_MESSAGE
        try:  # the answer came while the gate held every reply: now the e-mail must be on its way
            gate.wait_arrived(timeout=DEADLINE)
        except TimeoutError:
            pytest.fail(f"no e-mail reached SMTP within {DEADLINE:g} s of the answer")
    finally:
        gate.release()
    sink.wait_for(address)


@pytest.mark.clause("6")
def test_def_sender_does_not_delay_a_concurrent_request(live: Live, sink: SmtpSink, address: str) -> None:
    """Clause 6: while the `def` sender waits on SMTP, another request is answered."""
    gate = sink.hold(address)
    try:
        assert notify(live, address, sender="sync").status_code == 200
        gate.wait_arrived(timeout=DEADLINE)
        with live.client(timeout=DEADLINE) as client:
            try:
                health = client.get("/health")
            except httpx.TimeoutException:
                pytest.fail("a concurrent request waited for the `def` sender: it runs on the event loop")
        assert health.status_code == 200
    finally:
        gate.release()
    sink.wait_for(address)


@pytest.mark.clause("7")
def test_health_answers_200(live: Live) -> None:
    """Clause 7: `GET /health` answers 200 once the app is ready."""
    with live.client() as client:
        assert client.get("/health").status_code == 200


BAD_INPUTS = {
    "email-not-an-address": ("not-an-email", {}, "email"),
    "email-no-domain": ("user@", {}, "email"),
    "email-crlf": ("a%0D%0ABcc:x@example.com", {}, "email"),
    "email-nul": ("a%00b@example.com", {}, "email"),
    "q-lf": (None, {"q": "a\nBcc: x@example.com"}, "q"),
    "q-cr": (None, {"q": "a\rb"}, "q"),
    "q-tab": (None, {"q": "a\tb"}, "q"),
    "q-line-separator": (None, {"q": "a\u2028b"}, "q"),
    "q-too-long": (None, {"q": "x" * (MAX_QUERY_LENGTH + 1)}, "q"),
    "sender-unknown": (None, {"sender": "carrier-pigeon"}, "sender"),
}


@pytest.mark.clause("8")
@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_refused_with_422_and_nothing_is_sent(live: Live, sink: SmtpSink, address: str,
                                                           case: str) -> None:
    """Clause 8: bad input gets 422 naming the field; nothing is sent or logged."""
    email, params, field = BAD_INPUTS[case]
    token = address.partition("@")[0]
    target = email or address
    params = {"q": token, **params}
    response = notify(live, target, **params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == INVALID_INPUT
    assert body["field"] == field
    assert isinstance(body["detail"], str) and body["detail"]
    barrier = fresh_address()
    assert notify(live, barrier).status_code == 200
    sink.wait_for(barrier)
    assert sink.to(target) == [], "an e-mail left for a refused request"
    assert not [line for line in live.log_lines() if token in line], "a refused request was logged"


@pytest.mark.clause("8")
def test_longest_allowed_query_is_accepted(live: Live, sink: SmtpSink, address: str) -> None:
    """Clause 8: a `q` of exactly the maximum length is accepted and logged."""
    q = "y" * MAX_QUERY_LENGTH
    assert notify(live, address, q=q).status_code == 200
    sink.wait_for(address)
    assert log_line(q) in live.log_lines()


@pytest.mark.clause("3")
def test_concurrent_requests_each_get_one_email(live: Live, sink: SmtpSink) -> None:
    """Clause 3: concurrent accepted requests each produce exactly one e-mail."""
    addresses = [fresh_address() for _ in range(20)]
    errors: list[BaseException] = []

    def send(address: str, sender: str) -> None:
        try:
            assert notify(live, address, sender=sender).status_code == 200
        except BaseException as error:  # collected, re-raised below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(a, ("sync", "async")[i % 2]))
               for i, a in enumerate(addresses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE * 2)
    assert not errors, errors
    for a in addresses:
        assert len(sink.wait_for(a)) == 1
