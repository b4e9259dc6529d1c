"""Differential fuzzing of the HTTP surface: the four apps under one server, the same inputs.

Every answer is the one an independent reading of clause 8 (reliability/oracle.py) gives:
200 with clause 1's body or the spec's 422 naming the first offending field; never a 5xx,
never a hang. No rejected input sends mail; each accepted one sends one e-mail; no CR or
LF reaches an SMTP header. The one known divergence is kept as data, not hidden: an
address with `/` (or a dot segment) cannot be one path segment, and each router answers
it its own way (FastAPI and Starlette 404 or a 307 slash redirect, Litestar's route
matches and the spec answers 422 or, with leading slashes merged, accepts the rest of
the address, Quart 404 or a 308 redirect); such inputs are counted apart, with each
framework's answers, and must still never get a 5xx. Hypothesis is derandomized: a run
is repeatable. With `--app`, the apps given are fuzzed instead of the four.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.fixtures import Live, Pair, start_live
from reliability import FUZZ_EXAMPLES, unroutable
from reliability.oracle import answer_ok, verdict
from shared.sink import SmtpSink

CONTROL = "".join(map(chr, range(32))) + "\x7f\x85\u2028\u2029"
tricky = st.text(alphabet=st.sampled_from(list(CONTROL + "%0aADd@.+ \u00e9\u0301\U0001f600")), max_size=12)
addresses = st.one_of(
    st.emails(),
    # Mostly valid, so that q and sender get judged too.
    st.from_regex(r"[a-z0-9.+]{1,12}@example\.com", fullmatch=True),
    st.builds(lambda local, bad: f"{local}{bad}@example.com", st.from_regex(r"[a-z]{1,8}", fullmatch=True),
              tricky),
    st.text(min_size=1, max_size=80),
)
queries = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(list(CONTROL + string.ascii_letters + "%")), max_size=40),
    st.integers(990, 1010).map(lambda n: "q" * n),
    st.just(""),
)


senders = st.one_of(st.none(), st.sampled_from(["sync", "async"]), st.text(max_size=8))


@pytest.fixture(scope="session")
def four(server: str, apps: dict[str, str], sink: SmtpSink,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Live]]:
    lives = {name: start_live(Pair(name, server, app), sink, tmp_path_factory.mktemp(f"fuzz-{name}-{server}"))
             for name, app in apps.items()}
    yield lives
    for live in lives.values():
        live.server.stop()


def test_apps_answer_generated_input_as_the_spec_says(server: str, four: dict[str, Live], sink: SmtpSink,
                                                      metric) -> None:
    """Clause 8 under fuzzing: each app's answer is the oracle's (reliability/oracle.py), never
    a 5xx; nothing sent for refusals; each accepted input sent once."""
    # The sink is the worker's: what the other server's run (the same generated inputs) sent
    # before this one is not this run's.
    first = len(sink.received)
    generated = 0
    tried, fivexx = Counter(), Counter()
    wrong: dict[str, list[dict[str, Any]]] = {fw: [] for fw in four}
    answered_200: dict[str, Counter[str]] = {fw: Counter() for fw in four}  # routable addresses
    refused: set[str] = set()
    accepted: set[str] = set()
    unroutable_seen: list[str] = []
    odd_answers: dict[str, set[int]] = {fw: set() for fw in four}
    clients = {fw: live.client(timeout=10.0) for fw, live in four.items()}

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(address=addresses, q=queries, sender=senders)
    def one_input(address: str, q: str | None, sender: str | None) -> None:
        nonlocal generated
        generated += 1
        params = {k: v for k, v in (("q", q), ("sender", sender)) if v is not None}
        routable = not unroutable(address)
        if not routable:
            unroutable_seen.append(address)
        want = verdict(address, q, sender)
        for fw, client in clients.items():
            tried[fw] += 1
            response = client.post("/send-notification/" + quote(address, safe=""), params=params)
            fivexx[fw] += response.status_code >= 500
            if not routable:  # the router's answer, kept as data (see the module's docstring)
                odd_answers[fw].add(response.status_code)
                continue
            json_body = response.headers.get("content-type", "").startswith("application/json")
            body = response.json() if json_body else response.text
            if not answer_ok(response.status_code, body, want):
                wrong[fw].append({"email": address, "q": q, "sender": sender,
                                  "got": [response.status_code, body], "want": list(want)})
            if response.status_code == 200:
                answered_200[fw][address] += 1
                accepted.add(address)
            else:
                refused.add(address)

    try:
        one_input()
    finally:
        for client in clients.values():
            client.close()
    # The barrier: a graceful stop ends every task, so every e-mail sent is in the count.
    for live in four.values():
        live.server.stop(grace=60)
    received = sink.received[first:]
    # An address refused with one `q` may be accepted with another: only never-accepted ones count.
    never_accepted = refused - accepted
    refused_mail = sum(1 for m in received for r in m.rcpt_tos if r in never_accepted)
    header_breaks = sum(1 for m in received
                        if any("\r" in v or "\n" in v for v in map(str, m.message.values()))
                        or any("\r" in r or "\n" in r for r in m.rcpt_tos))
    # Each accepted request sends one e-mail: per app from its own events, and in total at the sink.
    delivered = Counter(r for m in received if m.delivered for r in m.rcpt_tos if r in accepted)
    owed = sum((answered_200[fw] for fw in four), Counter())
    sink_mismatch = {a: [owed[a], delivered[a]] for a in owed if owed[a] != delivered[a]}
    for fw, live in four.items():
        pair = Pair(fw, server, live.pair.app)
        sent = Counter(e["request_id"] for e in live.events(event="mail_sent"))
        not_sent = sum(max(0, n - sent[a]) for a, n in answered_200[fw].items())
        sent_twice = sum(max(0, sent[a] - n) for a, n in answered_200[fw].items())
        metric(pair, "fuzz_inputs_tried", tried[fw], generated, unroutable=len(unroutable_seen),
               unroutable_answers=sorted(odd_answers[fw]))
        metric(pair, "fuzz_5xx_seen", fivexx[fw], 0)
        metric(pair, "fuzz_answers_unlike_the_oracle", len(wrong[fw]), 0, examples=wrong[fw][:3])
        metric(pair, "fuzz_refused_inputs_that_sent_mail", refused_mail, 0)
        metric(pair, "fuzz_crlf_in_smtp_headers", header_breaks, 0)
        # The sink's disagreements cannot be told apart by app: each app's row carries them.
        metric(pair, "fuzz_accepted_not_sent_once", not_sent + sent_twice + len(sink_mismatch), 0,
               accepted=sum(answered_200[fw].values()), not_sent=not_sent, sent_twice=sent_twice,
               sink_mismatch=dict(list(sink_mismatch.items())[:3]))
    assert generated >= FUZZ_EXAMPLES * 0.9, f"only {generated} inputs generated"
    assert not any(fivexx.values()), fivexx
    assert not any(wrong.values()), {fw: w[:2] for fw, w in wrong.items() if w}
    assert refused_mail == 0 and header_breaks == 0
    assert not sink_mismatch, f"deliveries per address differ from the 200 answers: {sink_mismatch}"
