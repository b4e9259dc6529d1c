"""The benchmark harness reads its generators right and takes its ratios side by side."""

from bench.load import parse_h2load, parse_wrk
from bench.report import headlines, ratios

WRK_404 = """\
Running 1s test @ http://127.0.0.1:45995/nope/1
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.14ms    4.94ms  41.90ms   93.61%
    Req/Sec     4.17k     1.18k    5.77k    60.00%
  Latency Distribution
     50%  541.00us
     75%    1.57ms
     90%    4.07ms
     99%   29.12ms
  4224 requests in 1.04s, 635.25KB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 4224
Requests/sec:   4066.36
Transfer/sec:    611.54KB
"""


def test_wrk_counts_non_2xx_and_socket_errors_as_errors() -> None:
    load = parse_wrk(WRK_404)
    assert (load.requests, load.errors, load.seconds) == (4224, 4224 + 5, 1.04)
    assert (load.p50_ms, load.p99_ms) == (0.541, 29.12)


def test_h2load_rows_without_status_are_answers_and_missing_rows_are_errors() -> None:
    summary = "finished in 2.00s, 2.00 req/s, 1KB/s\n"
    log = "1795607353999294\t0\t1000\n1795607354020077\t200\t3000\n1795607354040020\t503\t500\n"
    load = parse_h2load(summary, log, total=4)
    assert load.sent == 4 and load.requests == 3
    assert load.errors == 2  # the 503 and the request that never got a row
    assert load.seconds == 2.0 and 1.0 <= load.p50_ms <= 3.0 and load.p99_ms <= 3.0


def run(framework: str, server: str, n: int, none: float, async_noop: float) -> dict:
    cell = {"rps": 0.0, "cpu_us_per_request": 100.0, "errors": 0}
    return {"framework": framework, "server": server, "run": n, "none": {**cell, "rps": none},
            "async-noop": {**cell, "rps": async_noop}, "sync-noop": {**cell, "rps": none / 2},
            "slow": {"errors": 0}, "saturation": {"errors": 1},
            "blocking": {"async-block": {"errors": 0}, "sync-block": {"errors": 0}}}


def test_ratios_pair_runs_measured_side_by_side() -> None:
    data = {"results": [run("bare", "uvicorn", 1, 1000, 900), run("fastapi", "uvicorn", 1, 500, 400),
                        run("bare", "uvicorn", 2, 2000, 1800), run("fastapi", "uvicorn", 2, 1500, 1200)]}
    of_bare = ratios(data, ("fastapi", "uvicorn"), lambda r: r["none"]["rps"], lambda r: r["none"]["rps"],
                     ("bare", "uvicorn"))
    assert of_bare == [0.5, 0.75]  # run 1 over run 1, run 2 over run 2; never across runs
    assert ratios(data, ("fastapi", "uvicorn"), lambda r: r["async-noop"]["rps"],
                  lambda r: r["none"]["rps"]) == [0.8, 0.8]
    summary = headlines(data)
    assert "fastapi-uvicorn" in summary and summary.endswith("never reached the app): 4")


def test_committed_benchmarks_page_matches_its_data() -> None:
    """docs/benchmarks.md is what `python -m bench --render` makes of docs/bench/bench.json."""
    import json
    from pathlib import Path

    from bench.report import DATA, render

    page = Path(DATA).parent.parent / "benchmarks.md"
    assert page.read_text() == render(json.loads(DATA.read_text())), (
        "docs/benchmarks.md is stale: run `python -m bench --render` (or `nox -s bench`)")
