"""What a broker adds: it can be down, slow, or hung (it accepts and never answers) when a
request comes in. Each check runs on every pair's durable app, and on a wrong app that it
must catch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conformance.fixtures import Live, Pair, fresh_address
from durable.conftest import start_durable
from durable.declared import declared
from durable.delivery import BROKER_ENV, BROKER_UNAVAILABLE, answer_bound
from durable.proxy import BrokerGate
from durable.stack import Stack
from shared.axes import Engine
from shared.sink import SmtpSink
from shared.spec import SENT_MESSAGE, log_line

#: How long an answer is waited for while the broker holds the message: a correct app never
#: answers then; one that does not wait for its enqueue answers within milliseconds.
EARLY_WINDOW = 0.5
#: A correct app answers in milliseconds; only a wrong one ever reaches this.
DEADLINE = 5.0
#: The broker time-out of the apps a slow broker is tried on: longer than any hold here, so that
#: the held enqueue waits for the broker rather than giving up (a hung broker's case).
SLOW_BROKER = {"AFTERWARD_BROKER_TIMEOUT": "10"}
#: How much longer than the bound the client of a hung broker waits, so that an answer after it is
#: seen as late rather than missed.
PAST_BOUND = 2.0
WRONG = {"blocking": "durable.wrong_apps.blocking_enqueue_app:app",
         "swallowing": "durable.wrong_apps.swallowing_app:app",
         "unawaited": "durable.wrong_apps.unawaited_enqueue_app:app",
         "unbounded": "durable.wrong_apps.unbounded_app:app"}
#: The wrong apps that meet a slow broker, with its configuration.
WRONG_ENV = {"blocking": SLOW_BROKER, "unawaited": SLOW_BROKER}


@pytest.fixture
def gate(backend: Stack) -> Iterator[BrokerGate]:
    assert backend.redis is not None
    with BrokerGate(backend.redis.port) as proxy:
        yield proxy


def _through(pair: Pair, backend: Stack, gate: BrokerGate, workdir: Path, app: str | None = None,
             **env: str) -> Iterator[Live]:
    running = start_durable(pair, backend, workdir, app=app, **{BROKER_ENV: gate.url(), **env})
    yield running
    running.server.kill()
    assert running.server.proc is not None
    running.server.proc.wait(10)


@pytest.fixture
def gated(pair: Pair, backend: Stack, gate: BrokerGate, tmp_path: Path) -> Iterator[Live]:
    """The pair's durable app, talking to Redis through the gate."""
    yield from _through(pair, backend, gate, tmp_path)


@pytest.fixture
def slow_gated(pair: Pair, backend: Stack, gate: BrokerGate, tmp_path: Path) -> Iterator[Live]:
    """The same, with a broker time-out longer than the broker is held (`SLOW_BROKER`)."""
    yield from _through(pair, backend, gate, tmp_path, **SLOW_BROKER)


@pytest.fixture
def wrong(request: pytest.FixtureRequest, backend: Stack, gate: BrokerGate, tmp_path: Path) -> Iterator[Live]:
    """The wrong app the test's `wrong` mark names, under uvicorn, through the gate."""
    name = request.node.get_closest_marker("wrong").args[0]
    yield from _through(Pair("wrong", "uvicorn", WRONG[name]), backend, gate, tmp_path, app=WRONG[name],
                        **WRONG_ENV.get(name, {}))


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


def test_enqueue_does_not_block_the_event_loop(slow_gated: Live, gate: BrokerGate, sink: SmtpSink) -> None:
    """Clause 13: while an enqueue waits on a slow broker, other requests are answered."""
    assert enqueue_blocks_event_loop(slow_gated, gate, sink) == declared("enqueue_blocks_event_loop")


@pytest.mark.wrong("blocking")
def test_enqueue_on_the_event_loop_is_caught(wrong: Live, gate: BrokerGate, sink: SmtpSink) -> None:
    assert enqueue_blocks_event_loop(wrong, gate, sink) is True


@pytest.mark.wrong("unawaited")
def test_answer_before_the_broker_has_the_message_is_caught(wrong: Live, gate: BrokerGate,
                                                             sink: SmtpSink) -> None:
    """Clause 12: an app that answers without waiting for its enqueue is caught."""
    with pytest.raises(AssertionError, match="while the broker still held the message"):
        enqueue_blocks_event_loop(wrong, gate, sink)


@dataclass(frozen=True)
class HungBroker:
    """How an app answered a notification while its broker accepted and never answered."""

    #: The answer's status, or None when none came within the bound and `PAST_BOUND` more.
    status: int | None
    seconds: float
    bound: float
    #: `GET /health` answered while the notification's enqueue still waited on the broker.
    loop_free: bool
    #: E-mails to the refused notification's address once the broker was back and a later
    #: notification had gone through.
    sent: int
    logged: bool

    def observed(self) -> str:
        answer = "no answer" if self.status is None else str(self.status)
        when = f"within {self.bound:g} s" if self.seconds <= self.bound else f"after {self.seconds:.1f} s"
        return (f"{answer} {when}; /health {'answered' if self.loop_free else 'held'} meanwhile; "
                f"{self.sent} sent{', logged' if self.logged else ''} once back")

    def expected(self) -> str:
        return HungBroker(503, 0.0, self.bound, True, 0, False).observed()


def hung_broker_answer(url: str, gate: BrokerGate, sink: SmtpSink, log: Path, open_first: bool) -> HungBroker:
    """One notification while the broker is a black hole: on a new connection, or (`open_first`) on
    the one a first notification left the app holding. `GET /health` is asked once the enqueue's
    bytes have gone into the hole; the broker comes back once the answer is in, and a last
    notification goes through before the refused one's address is looked up."""
    bound = answer_bound()
    address = fresh_address()
    token = address.partition("@")[0]
    with httpx.Client(base_url=url, timeout=30) as client:
        if open_first:
            first = fresh_address()
            assert client.post(f"/send-notification/{first}").status_code == 200
            sink.wait_for(first)
    answers: list[tuple[int | None, float]] = []

    def send() -> None:
        started = time.monotonic()
        try:
            with httpx.Client(base_url=url, timeout=bound + PAST_BOUND) as client:
                answer = client.post(f"/send-notification/{address}", params={"q": token})
            status: int | None = answer.status_code
        except httpx.TimeoutException:
            status = None
        answers.append((status, time.monotonic() - started))

    gate.blackhole()
    try:
        held = threading.Thread(target=send)
        held.start()
        gate.wait_swallowed()  # the enqueue has written to the broker, which will never answer
        try:
            with httpx.Client(base_url=url, timeout=DEADLINE) as client:
                loop_free = client.get("/health").status_code == 200 and not answers
        except httpx.TimeoutException:
            loop_free = False
        held.join(bound + PAST_BOUND + DEADLINE)
    finally:
        gate.restore()
    barrier = fresh_address()
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.post(f"/send-notification/{barrier}").status_code == 200, "no 200 with the broker back"
    sink.wait_for(barrier)
    (status, seconds), = answers
    logged = log.exists() and token in log.read_text(encoding="utf-8")
    return HungBroker(status, seconds, bound, loop_free, len(sink.to(address)), logged)


def check_hung_broker(hung: HungBroker) -> None:
    assert hung.bound == declared("hung_broker_answered_503_within_seconds")
    assert hung.status is not None, f"no answer within {hung.bound:g} s (+{PAST_BOUND:g}) from a hung broker"
    assert (hung.status, hung.seconds <= hung.bound) == (503, True), hung.observed()
    assert hung.loop_free, f"/health was not answered while the enqueue waited: {hung.observed()}"
    assert (hung.sent, hung.logged) == (0, False), hung.observed()


@pytest.mark.parametrize("connection", ["new", "open"])
def test_hung_broker_is_answered_503_within_the_bound(gated: Live, gate: BrokerGate, sink: SmtpSink,
                                                      connection: str) -> None:
    """Clause 14: a broker that accepts and never answers, on a new connection or on the one the app
    holds, is answered 503 within the bound, the loop free meanwhile; nothing sent once it is back."""
    assert gated.server is not None
    hung = hung_broker_answer(gated.server.url, gate, sink, gated.need_log(), open_first=connection == "open")
    check_hung_broker(hung)


@pytest.mark.celery_only
@pytest.mark.wrong("unbounded")
def test_app_that_waits_for_a_hung_broker_without_a_bound_is_caught(wrong: Live, gate: BrokerGate,
                                                                      sink: SmtpSink) -> None:
    assert wrong.server is not None
    hung = hung_broker_answer(wrong.server.url, gate, sink, wrong.need_log(), open_first=True)
    with pytest.raises(AssertionError, match="no answer within"):
        check_hung_broker(hung)


def stalled_broker_sends_a_503(live: Live, gate: BrokerGate, sink: SmtpSink, backend: Stack) -> bool:
    """Whether a notification answered 503, because the broker held its command past the time-out,
    is sent once the broker carries on with what it had read (as a stalled Redis does)."""
    address = fresh_address()
    with live.client(timeout=30) as client:  # a first one, so the app holds a broker connection
        assert client.post(f"/send-notification/{fresh_address()}").status_code == 200
    gate.hold()
    try:
        with live.client(timeout=answer_bound() + PAST_BOUND) as client:
            answer = client.post(f"/send-notification/{address}")
    finally:
        gate.release()
    assert answer.status_code == 503, f"answered {answer.status_code} with the broker stalled past its bound"
    barrier = fresh_address()
    with live.client(timeout=30) as client:
        assert client.post(f"/send-notification/{barrier}").status_code == 200
    sink.wait_for(barrier)
    backend.wait_drained(timeout=30)  # every message the broker got has run
    return len(sink.to(address)) == 1


def test_a_notification_answered_503_by_a_stalled_broker_is_sent_once_it_carries_on(
        gated: Live, gate: BrokerGate, sink: SmtpSink, backend: Stack, engine: Engine) -> None:
    """Clause 14's limit: a `503` after a read time-out does not take back the command the broker
    read; a broker that carries on queues it, and it is sent (once), where the enqueue is one
    command (durable/engines.toml)."""
    sent = stalled_broker_sends_a_503(gated, gate, sink, backend)
    assert sent == declared("stalled_broker_503_can_still_be_sent", engine.name)
