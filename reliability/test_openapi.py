"""Schemathesis on the apps that publish OpenAPI (FastAPI and Litestar): cases generated
from each app's own schema, sent to the live server. Never a 5xx; 200 with the spec's
body or the spec's 422; no mail for a refused address. Starlette and Quart publish no
schema; `test_fuzz.py` covers all four with hypothesis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from conformance.fixtures import Pair, start_live
from reliability import FUZZ_EXAMPLES, unroutable
from reliability.oracle import answer_ok, verdict
from shared.servers import FRAMEWORKS
from shared.sink import SmtpSink

OPENAPI = {"fastapi": "/openapi.json", "litestar": "/schema/openapi.json"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The reference apps that publish a schema, among those chosen (none with --app).
    config = metafunc.config
    chosen = [] if config.getoption("--app") else config.getoption("--framework") or list(OPENAPI)
    metafunc.parametrize("framework", [f for f in OPENAPI if f in chosen])


def test_cases_from_the_published_schema(framework: str, server: str, sink: SmtpSink, tmp_path: Path,
                                         metric) -> None:
    """Clause 8 against the schema's own idea of the input."""
    pair = Pair(framework, server, FRAMEWORKS[framework].app)
    live = start_live(pair, sink, tmp_path)
    statuses: dict[int, int] = {}
    refused, accepted = set(), set()
    wrong: list[dict[str, Any]] = []
    generated = 0
    try:
        schema = schemathesis.openapi.from_url(live.url + OPENAPI[framework])
        operation = schema["/send-notification/{email}"]["POST"]

        @settings(max_examples=FUZZ_EXAMPLES // 5, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def one_case(case: schemathesis.Case) -> None:
            nonlocal generated
            generated += 1
            response = case.call(base_url=live.url, timeout=10)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            email = case.path_parameters["email"]
            query = case.query or {}
            if unroutable(email) or response.status_code >= 500:  # the router's answer, as in test_fuzz.py
                return
            q, sender = query.get("q"), query.get("sender")
            if not all(v is None or isinstance(v, str) for v in (q, sender)):
                return  # a repeated parameter: clause 8 speaks of one value each
            try:
                body = response.json()
            except ValueError:
                body = response.text
            want = verdict(email, q, sender)
            if not answer_ok(response.status_code, body, want):
                wrong.append({"email": email, "query": query, "got": [response.status_code, body],
                              "want": want})
            (accepted if response.status_code == 200 else refused).add(email)

        one_case()
    finally:
        live.server.stop(grace=60)  # every accepted notification sent before the count
    refused_mail = sum(1 for m in sink.received for r in m.rcpt_tos if r in refused - accepted)
    fivexx = sum(n for code, n in statuses.items() if code >= 500)
    metric(pair, "openapi_cases", sum(statuses.values()), generated,
           statuses={str(k): v for k, v in sorted(statuses.items())})
    metric(pair, "openapi_5xx", fivexx, 0)
    metric(pair, "openapi_answers_unlike_the_oracle", len(wrong), 0, examples=wrong[:3])
    metric(pair, "openapi_refused_inputs_that_sent_mail", refused_mail, 0)
    assert fivexx == 0 and not wrong and refused_mail == 0, wrong[:2]
