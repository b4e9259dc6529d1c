"""Schemathesis on the apps that publish OpenAPI (FastAPI and Litestar): cases generated
from each app's own schema, sent to the live server. Never a 5xx; 200 with the spec's
body or the spec's 422; no mail for a refused address. Starlette and Quart publish no
schema; `test_fuzz.py` covers all four with hypothesis."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from conformance.fixtures import Pair, start_live
from reliability import FUZZ_EXAMPLES, unroutable
from shared.servers import FRAMEWORKS, SERVERS
from shared.sink import SmtpSink
from shared.spec import SENT_MESSAGE

OPENAPI = {"fastapi": "/openapi.json", "litestar": "/schema/openapi.json"}


@pytest.mark.parametrize("framework", list(OPENAPI))
@pytest.mark.parametrize("server", list(SERVERS))
def test_cases_from_the_published_schema(framework: str, server: str, sink: SmtpSink, tmp_path: Path,
                                         metric) -> None:
    """Clause 8 against the schema's own idea of the input."""
    pair = Pair(framework, server, FRAMEWORKS[framework])
    live = start_live(pair, sink, tmp_path)
    statuses: dict[int, int] = {}
    refused, accepted = set(), set()
    try:
        schema = schemathesis.openapi.from_url(live.url + OPENAPI[framework])
        operation = schema["/send-notification/{email}"]["POST"]

        @settings(max_examples=FUZZ_EXAMPLES // 5, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def one_case(case: schemathesis.Case) -> None:
            response = case.call(base_url=live.url, timeout=10)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            email = case.path_parameters["email"]
            assert response.status_code < 500, (case.path_parameters, case.query, response.text)
            if unroutable(email):  # the router's answer, as in test_fuzz.py
                return
            assert response.status_code in (200, 422), (case.path_parameters, case.query, response.text)
            if response.status_code == 200:
                assert response.json() == SENT_MESSAGE
                accepted.add(email)
            else:
                assert set(response.json()) == {"error", "field", "detail"}, response.text
                refused.add(email)

        one_case()
    finally:
        live.server.stop(grace=60)  # every accepted notification sent before the count
    refused_mail = sum(1 for m in sink.received for r in m.rcpt_tos if r in refused - accepted)
    metric(pair, "openapi_cases", sum(statuses.values()),
           statuses={str(k): v for k, v in sorted(statuses.items())})
    metric(pair, "openapi_5xx", sum(n for code, n in statuses.items() if code >= 500), 0)
    assert metric(pair, "openapi_refused_inputs_that_sent_mail", refused_mail, 0)
