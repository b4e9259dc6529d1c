"""Differential fuzzing of the HTTP surface: the four apps under one server, the same inputs.

Every answer is 200 or the spec's 422, never 5xx, never a hang, and the four give the
same answer; no rejected input sends mail; no CR or LF reaches an SMTP header. The one
known divergence is kept as data, not hidden: an address with `/` (or a dot segment)
cannot be one path segment, and each router answers it its own way (FastAPI and
Starlette 404 or a 307 slash redirect, Litestar's route matches and the spec answers
422 or, with leading slashes merged, accepts the rest of the address, Quart 404 or a 308
redirect); such inputs are counted apart, with each framework's answers, and must still
never get a 5xx. Hypothesis is derandomized: a run is repeatable.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.fixtures import Live, Pair, start_live
from reliability import FUZZ_EXAMPLES, unroutable
from shared.servers import FRAMEWORKS, SERVERS
from shared.sink import SmtpSink

CONTROL = "".join(map(chr, range(32))) + "\x7f\x85\u2028\u2029"
tricky = st.text(alphabet=st.sampled_from(list(CONTROL + "%0aADd@.+ \u00e9\u0301\U0001f600")), max_size=12)
addresses = st.one_of(
    st.emails(),
    st.builds(lambda local, bad: f"{local}{bad}@example.com", st.from_regex(r"[a-z]{1,8}", fullmatch=True), tricky),
    st.text(min_size=1, max_size=80),
)
queries = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(list(CONTROL + string.ascii_letters + "%")), max_size=40),
    st.integers(990, 1010).map(lambda n: "q" * n),
    st.just(""),
)


@pytest.fixture(scope="session")
def four(server: str, sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Live]]:
    lives = {fw: start_live(Pair(fw, server, app), sink, tmp_path_factory.mktemp(f"fuzz-{fw}-{server}"))
             for fw, app in FRAMEWORKS.items()}
    yield lives
    for live in lives.values():
        live.server.stop()


@pytest.mark.parametrize("server", list(SERVERS), scope="session")
def test_four_apps_answer_generated_input_alike(server: str, four: dict[str, Live], sink: SmtpSink,
                                                metric) -> None:
    """Clause 8 under fuzzing: 200 or 422, identical across the four, nothing sent for refusals."""
    tried, statuses = Counter(), Counter()
    refused: list[str] = []
    accepted: list[str] = []
    unroutable_seen: list[str] = []
    clients = {fw: live.client(timeout=10.0) for fw, live in four.items()}

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(address=addresses, q=queries)
    def one_input(address: str, q: str | None) -> None:
        params = {} if q is None else {"q": q}
        answers = {}
        for fw, client in clients.items():
            tried[fw] += 1
            response = client.post("/send-notification/" + quote(address, safe=""), params=params)
            statuses[fw, response.status_code] += 1
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") \
                else None
            answers[fw] = (response.status_code, body if response.status_code != 404 else None)
        codes = {a[0] for a in answers.values()}
        if unroutable(address):
            unroutable_seen.append(address)
            assert all(c < 500 for c in codes), (address, q, answers)
        else:
            assert codes <= {200, 422}, (address, q, answers)
            assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1, (address, q, answers)
        (accepted if 200 in codes else refused).append(address)

    try:
        one_input()
    finally:
        for client in clients.values():
            client.close()
    # Every accepted input sent mail; wait for all of it, then look at what arrived.
    for live in four.values():
        live.server.stop(grace=60)
    received = list(sink.received)
    # An address refused with one `q` may be accepted with another: only never-accepted ones count.
    never_accepted = set(refused) - set(accepted)
    refused_mail = sum(1 for m in received for r in m.rcpt_tos if r in never_accepted)
    header_breaks = sum(1 for m in received if any("\r" in v or "\n" in v for v in map(str, m.message.values()))
                        or any("\r" in r or "\n" in r for r in m.rcpt_tos))
    for fw in FRAMEWORKS:
        pair = Pair(fw, server, FRAMEWORKS[fw])
        metric(pair, "fuzz_inputs_tried", tried[fw])
        metric(pair, "fuzz_5xx_seen", sum(n for (f, s), n in statuses.items() if f == fw and s >= 500), 0)
        metric(pair, "fuzz_refused", sum(n for (f, s), n in statuses.items() if f == fw and s != 200))
        metric(pair, "fuzz_unroutable_addresses", len(unroutable_seen),
               answers=sorted({f"{s}" for (f, s), n in statuses.items() if f == fw and s not in (200, 422)}))
        metric(pair, "fuzz_refused_inputs_that_sent_mail", refused_mail, 0)
        metric(pair, "fuzz_crlf_in_smtp_headers", header_breaks, 0)
    assert tried["fastapi"] >= FUZZ_EXAMPLES * 0.9
    assert refused_mail == 0 and header_breaks == 0
