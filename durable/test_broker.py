"""What a broker adds: it can be down, or slow, when a request comes in; SMTP can be down
when the worker gets the task. Each check runs on every pair's durable app, and on a
wrong app that it must catch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.fixtures import Live, Pair, fresh_address
from durable.conftest import start_durable
from durable.declared import declared
from durable.proxy import BrokerGate
from durable.stack import Stack
from durable.tasks import BROKER_ENV, BROKER_UNAVAILABLE
from shared.sink import SmtpSink
from shared.spec import SENT_MESSAGE, log_line

#: How long an answer is waited for while the broker holds the message: a correct app never
#: answers then; one that does not wait for its enqueue answers within milliseconds.
EARLY_WINDOW = 0.5
#: A correct app answers in milliseconds; only a wrong one ever reaches this.
DEADLINE = 5.0
WRONG = {"blocking": "durable.wrong_apps.blocking_enqueue_app:app",
         "swallowing": "durable.wrong_apps.swallowing_app:app",
         "unawaited": "durable.wrong_apps.unawaited_enqueue_app:app"}


@pytest.fixture
def gate(backend: Stack) -> Iterator[BrokerGate]:
    assert backend.redis is not None
    with BrokerGate(backend.redis.port) as proxy:
        yield proxy


def _through(pair: Pair, backend: Stack, gate: BrokerGate, workdir: Path,
             app: str | None = None) -> Iterator[Live]:
    running = start_durable(pair, backend, workdir, app=app, **{BROKER_ENV: gate.url()})
    yield running
    running.server.kill()
    assert running.server.proc is not None
    running.server.proc.wait(10)


@pytest.fixture
def gated(pair: Pair, backend: Stack, gate: BrokerGate, tmp_path: Path) -> Iterator[Live]:
    """The pair's durable app, talking to Redis through the gate."""
    yield from _through(pair, backend, gate, tmp_path)


@pytest.fixture
def wrong(request: pytest.FixtureRequest, backend: Stack, gate: BrokerGate, tmp_path: Path) -> Iterator[Live]:
    """The wrong app the test's `wrong` mark names, under uvicorn, through the gate."""
    app = WRONG[request.node.get_closest_marker("wrong").args[0]]
    yield from _through(Pair("wrong", "uvicorn", app), backend, gate, tmp_path, app=app)


def check_broker_down_is_answered_503(live: Live, gate: BrokerGate, sink: SmtpSink) -> None:
    address = fresh_address()
    token = address.partition("@")[0]
    gate.cut()
    with live.client(timeout=30) as client:
        answer = client.post(f"/send-notification/{address}", params={"q": token})
    gate.restore()
    assert answer.status_code == 503, f"answered {answer.status_code} {answer.text} with the broker down"
    body = answer.json()
    assert body["error"] == BROKER_UNAVAILABLE and isinstance(body["detail"], str) and body["detail"]
    barrier = fresh_address()  # the broker is back: this one goes through, and only this one
    with live.client(timeout=30) as client:
        assert client.post(f"/send-notification/{barrier}", params={"q": barrier}).status_code == 200
    sink.wait_for(barrier)
    assert log_line(barrier) in live.log_lines()
    assert sink.to(address) == [], "an e-mail left for a request answered 503"
    assert not [line for line in live.log_lines() if token in line], "a request answered 503 was logged"


def test_broker_down_is_answered_503_and_nothing_is_sent(gated: Live, gate: BrokerGate,
                                                          sink: SmtpSink) -> None:
    """Clause 14: with the broker unreachable, 503 and the error body; nothing logged or sent."""
    check_broker_down_is_answered_503(gated, gate, sink)


@pytest.mark.wrong("swallowing")
def test_app_that_answers_200_with_the_broker_down_is_caught(wrong: Live, gate: BrokerGate,
                                                              sink: SmtpSink) -> None:
    with pytest.raises(AssertionError, match="answered 200"):
        check_broker_down_is_answered_503(wrong, gate, sink)


def enqueue_blocks_event_loop(live: Live, gate: BrokerGate, sink: SmtpSink) -> bool:
    """Whether `GET /health` waits while a notification's enqueue waits on a held broker."""
    address = fresh_address()
    with live.client(timeout=30) as client:  # a first one, so the app holds a broker connection
        assert client.post(f"/send-notification/{fresh_address()}").status_code == 200
    answers: list[httpx.Response] = []
    gate.hold()
    try:
        def send() -> None:
            with live.client(timeout=30) as client:
                answers.append(client.post(f"/send-notification/{address}"))

        held = threading.Thread(target=send)
        held.start()
        gate.wait_held()  # the enqueue has sent its command and waits for Redis' reply
        try:
            with live.client(timeout=DEADLINE) as client:
                blocked = client.get("/health").status_code != 200
        except httpx.TimeoutException:
            blocked = True
        held.join(EARLY_WINDOW)  # clause 12: no answer before the broker has the message
        early = list(answers)
    finally:
        gate.release()
    held.join(30)
    assert not early, f"answered {early[0].status_code} while the broker still held the message"
    assert answers and answers[0].status_code == 200 and answers[0].json() == SENT_MESSAGE
    sink.wait_for(address)
    return blocked


def test_enqueue_does_not_block_the_event_loop(gated: Live, gate: BrokerGate, sink: SmtpSink) -> None:
    """Clause 13: while an enqueue waits on a slow broker, other requests are answered."""
    assert enqueue_blocks_event_loop(gated, gate, sink) == declared("enqueue_blocks_event_loop")


@pytest.mark.wrong("blocking")
def test_enqueue_on_the_event_loop_is_caught(wrong: Live, gate: BrokerGate, sink: SmtpSink) -> None:
    assert enqueue_blocks_event_loop(wrong, gate, sink) is True


@pytest.mark.wrong("unawaited")
def test_answer_before_the_broker_has_the_message_is_caught(wrong: Live, gate: BrokerGate,
                                                             sink: SmtpSink) -> None:
    """Clause 12: an app that answers without waiting for its enqueue is caught."""
    with pytest.raises(AssertionError, match="while the broker still held the message"):
        enqueue_blocks_event_loop(wrong, gate, sink)
