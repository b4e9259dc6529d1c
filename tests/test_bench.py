"""The benchmark harness reads its generators right and takes its ratios side by side; the
page, README's headlines and the prose in them are what the committed data renders to."""

import json
import pstats
import re
from pathlib import Path

import pytest

from bench.data import round_over_floor, round_ratios
from bench.load import parse_h2load, parse_wrk
from bench.profile_report import how_taken
from bench.report import DATA, FACTS, HEADLINES, NOTES, headlines, readme_block, render
from bench.template import PLACEHOLDER, Contradicted, load, names

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


def cells(framework: str, server: str, n: int, none: float, async_noop: float) -> list[dict]:
    """One round's three cells of one app."""
    cell = {"cpu_us_per_request": 100.0, "errors": 0, "p99_ms": 1.0, "other_cpu_share": 0.0}
    return [{"framework": framework, "server": server, "round": n, "endpoint": e, **cell, "rps": rps}
            for e, rps in (("none", none), ("async-noop", async_noop), ("sync-noop", none / 2))]


def test_ratios_are_taken_inside_a_round_never_across_rounds() -> None:
    data = {"rounds": [*cells("bare", "uvicorn", 1, 1000, 900), *cells("fastapi", "uvicorn", 1, 500, 400),
                       *cells("bare", "uvicorn", 2, 2000, 1800), *cells("fastapi", "uvicorn", 2, 1500, 1200)],
            "results": []}
    assert round_ratios(data, ("fastapi", "uvicorn"), "none", base_pair=("bare", "uvicorn")) == [0.5, 0.75]
    assert round_ratios(data, ("fastapi", "uvicorn"), "async-noop") == [0.8, 0.8]
    # each framework's task beyond the floor's, round by round: (90 - 100) - (90 - 100) of CPU µs
    assert round_over_floor(data, ("fastapi", "uvicorn"), "async-noop") == [0.0, 0.0]
    summary = headlines(data)
    assert "fastapi-uvicorn" in summary and summary.endswith("never reached the app): 0")


def committed() -> dict:
    return json.loads(DATA.read_text())


@pytest.mark.parametrize("template", [NOTES, HEADLINES], ids=lambda p: p.name)
def test_prose_templates_write_no_number_by_hand(template: Path) -> None:
    """Numbers in the prose are {facts}; digits may stand only in code spans, links and names (p99)."""
    prose = re.sub(r"`[^`]*`|\[[^\]]*\]\([^)]*\)", "", load(template))
    prose = PLACEHOLDER.sub("", prose)
    assert not re.findall(r".{0,30}(?<!\w)\d.{0,30}", prose), f"{template.name} has numbers written by hand"
    assert set(names(load(template))) <= set(FACTS), "a placeholder names no fact"


def with_async_rps(data: dict, ratio: dict[tuple[str, str], float]) -> None:
    """Every round's `/async-noop` requests/s set to `ratio` (default 1) of its `/none`."""
    nones = {(r["framework"], r["server"], r["round"]): r["rps"] for r in data["rounds"]
             if r["endpoint"] == "none"}
    for r in data["rounds"]:
        if r["endpoint"] == "async-noop":
            pair = (r["framework"], r["server"])
            r["rps"] = nones[(*pair, r["round"])] * ratio.get(pair, 1)


def test_prose_phrases_its_comparisons_from_the_data() -> None:
    data = committed()
    with_async_rps(data, {("quart", "hypercorn"): 0.8})  # a task that costs nothing, but in quart-hypercorn
    said = FACTS["async_rps_called"](data)
    assert said == "no measurable difference in 15 of 16 pairs, fewer in 1 (down to 0.80 (0.80–0.80) in " \
                   "quart-hypercorn)"
    assert said in " ".join(render(data).split())  # the page's prose, wrapped again
    for p in data["profiles"]:
        p["async-noop"] = []
    data["profiles"][2]["async-noop"] = [{"function": "utils/helpers.py:62(unwrap_partial)", "extra_us": 1.5}]
    assert "Litestar's `unwrap_partial` (+1.5 µs) stands out of it; FastAPI's" in FACTS["async_named"](data)
    data["profiles"][2]["async-noop"] = []
    said = FACTS["async_named"](data)
    assert said.startswith("none of the task's own functions stands out of it (FastAPI's")


@pytest.mark.parametrize("break_it, says", [
    (lambda d: d["profiles"][1]["sync-noop"].reverse(), "starlette's 2 largest additions on /sync-noop"),
    (lambda d: d["profiles"][3]["async-noop"].clear(), "add_background_task"),
    (lambda d: d["profiles"][0]["taken"].update(server_cpus=[0, 1]), "not all pinned to one core"),
    (lambda d: [r["saturation"].update(answers_per_s=300) for r in d["results"]],
     "no pair's answers kept the offered rate"),
    (lambda d: [r["saturation"].update(tasks_per_s=20) for r in d["results"]], "tasks/s far from"),
    (lambda d: [r["blocking"]["async-block"].update(p99_ms=1.0) for r in d["results"]],
     "is not 2 times worse"),
], ids=["top two", "named function", "pinned", "answers", "pool", "lesson"])
def test_prose_the_data_contradicts_is_not_published(break_it, says: str) -> None:
    data = committed()
    break_it(data)
    with pytest.raises(Contradicted, match=re.escape(says)):
        render(data)
        readme_block(data)


def test_the_page_says_how_the_profiles_were_taken_from_the_data() -> None:
    data = committed()
    taken = {"server_cpus": [0], "generator_cpus": [1], "cores": 2, "load_1m": [0.5, 1.25], "seconds": 3,
             "connections": 8, "versions": data["versions"]}
    for p in data["profiles"]:
        p["taken"] = dict(taken)
    assert "server pinned to core 0 and wrk to core 1 (every framework)" in how_taken(data)
    assert "was 0.5 to 1.2 around them." in how_taken(data) and "Same versions" in how_taken(data)
    data["profiles"][3]["taken"] = {**taken, "server_cpus": [0, 1], "generator_cpus": [0, 1],
                                    "load_1m": [3.0, 3.5]}
    said = how_taken(data)
    assert "not pinned apart: server on cores 0 and 1, wrk on cores 0 and 1 (quart)" in said
    assert "above the machine's 2 cores" in said
    del data["profiles"][0]["taken"]
    assert how_taken(data).startswith("How the profiles of fastapi were taken (pinned or not")


def test_profile_additions_are_taken_round_by_round_then_the_median() -> None:
    from bench.profile import additions

    none = [{"loop": 10.0, "send": 5.0}, {"loop": 30.0, "send": 5.0}, {"loop": 10.0, "send": 5.0}]
    task = [{"loop": 12.0, "send": 9.0, "hop": 3.0}, {"loop": 32.0, "send": 9.0, "hop": 3.0},
            {"loop": 11.0, "send": 90.0, "hop": 3.0}]  # a burst of other work lands in one round's send
    found = additions({"none": none, "sync-noop": task})
    assert found["sync-noop"] == [{"function": "send", "extra_us": 4.0}, {"function": "hop", "extra_us": 3.0},
                                  {"function": "loop", "extra_us": 2.0}]
    assert found["total_us"] == {"none": 15.0, "sync-noop": 44.0}  # totals 24, 44, 104


def test_the_profiler_writes_its_stats_whole_under_the_final_name(tmp_path: Path, monkeypatch) -> None:
    """The reader waits for the final name: it must appear only once the stats are complete."""
    from bench import profiled

    out = tmp_path / "x.prof"
    monkeypatch.setenv("AFTERWARD_PROFILE", str(out))
    profiled.start()
    sum(range(1000))
    profiled.stop()
    assert [f.name for f in tmp_path.iterdir()] == ["x.prof"]
    assert pstats.Stats(str(out)).total_calls > 0  # type: ignore[attr-defined]


def test_the_summary_counts_the_errors_of_the_rounds_and_of_questions_4_to_7() -> None:
    data = committed()
    before = int(headlines(data).rsplit(": ", 1)[1])
    data["rounds"][0]["errors"] += 3
    data["results"][0]["saturation"]["errors"] += 2
    assert headlines(data).endswith(f"never reached the app): {before + 5}")


def test_a_pair_whose_server_fell_behind_the_offered_rate_is_named_with_its_cost() -> None:
    data = committed()
    rate = data["size"]["flood_rate"]
    for r in data["results"]:
        behind = (r["framework"], r["server"]) == ("litestar", "hypercorn")
        r["saturation"]["answers_per_s"] = rate * (0.5 if behind else 1.0)
    said = FACTS["answers_except"](data)
    assert said.startswith(", except in litestar-hypercorn (") and "µs of CPU there" in said
    assert FACTS["answers_but"](data) == " (but in litestar-hypercorn, whose server fell behind)"
    assert "litestar" not in FACTS["answers"](data)
    for r in data["results"]:
        r["saturation"]["answers_per_s"] = rate
    assert FACTS["answers_except"](data) == FACTS["answers_but"](data) == ""


def test_the_largest_cpu_rise_is_named_from_the_data() -> None:
    data = committed()
    nones = {(r["framework"], r["server"], r["round"]): r["cpu_us_per_request"] for r in data["rounds"]
             if r["endpoint"] == "none"}
    for r in data["rounds"]:  # a task that costs no CPU, but 500 µs in starlette-granian
        if r["endpoint"] == "async-noop":
            steep = (r["framework"], r["server"]) == ("starlette", "granian")
            r["cpu_us_per_request"] = nones[(r["framework"], r["server"], r["round"])] + (500 if steep else 0)
    assert FACTS["cpu_rise_most"](data) == "starlette-granian's, 500 µs per request"
