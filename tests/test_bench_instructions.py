"""The instruction tier: what it reads from callgrind, how it takes a request's marginal cost,
what the page derives from it, and that a quick run catches an app whose tasks do more work."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.callgrind import total
from bench.data import instr_added, instr_over_floor
from bench.instructions import compare, idle_rate, marginal, per_request
from bench.stats import interval
from shared.servers import REPO


def test_a_callgrind_dump_is_read_from_its_totals_line(tmp_path: Path) -> None:
    dump = tmp_path / "callgrind.42.1"
    dump.write_text("version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 999\n"
                    "fn=(1) main\n0 5\ntotals: 1234567\n")
    assert total(dump) == 1234567
    dump.write_text("events: Ir\nfn=(1) main\n0 5\n")
    with pytest.raises(ValueError, match="no totals"):
        total(dump)


def test_the_marginal_cost_cancels_what_a_batch_costs_beyond_its_requests() -> None:
    """A batch of k requests costs k * 700k plus 3M of its own (the client connecting, timers, the
    dump); one batch of each size catches a full collection of 16M. One request costs 700k."""
    per, fixed, gc = 700_000, 3_000_000, 16_000_000
    batches = [[100, 100 * per + fixed + gc], [200, 200 * per + fixed], [100, 100 * per + fixed],
               [200, 200 * per + fixed + gc], [100, 100 * per + fixed + 7], [200, 200 * per + fixed - 5]]
    assert marginal(batches) == per


def test_a_batch_is_charged_its_requests_not_the_servers_clock() -> None:
    """The server runs 600k instructions a second idle (its timers); a request costs 700k. A batch
    that took twice as long (a busier machine) has the same figure; one with a full collection in it
    moves nothing, being one batch of five."""
    rate = idle_rate([[300_000, 0.5], [330_000, 0.55], [270_000, 0.45]])
    assert rate == 600_000
    per = 700_000
    batches = [[40, 40 * per + rate * 0.6, 0.6], [80, 80 * per + rate * 2.4, 2.4],
               [40, 40 * per + rate * 0.5 + 16_000_000, 0.5], [80, 80 * per + rate * 1.2, 1.2],
               [40, 40 * per + rate * 0.7, 0.7]]
    assert per_request(batches, rate) == per
    assert per_request(batches) > per + 6_000  # uncorrected, the clock is charged to the requests
    assert marginal(batches, rate) == per


def instructions(rows: dict[tuple[str, str, int], dict[str, int]]) -> dict:
    return {"instructions": {"results": [
        {"framework": f, "server": s, "run": run, **{e: {"per_request": v} for e, v in cells.items()}}
        for (f, s, run), cells in rows.items()]}}


def test_over_the_floor_subtracts_the_bare_apps_task_of_the_same_run() -> None:
    data = instructions({
        ("bare", "uvicorn", 1): {"none": 400_000, "async-noop": 405_000},
        ("bare", "uvicorn", 2): {"none": 401_000, "async-noop": 407_000},
        ("starlette", "uvicorn", 1): {"none": 730_000, "async-noop": 750_000},
        ("starlette", "uvicorn", 2): {"none": 731_000, "async-noop": 752_000},
    })
    assert instr_added(data, ("starlette", "uvicorn"), "async-noop") == [20_000, 21_000]
    # run 1: 20k - 5k; run 2: 21k - 6k; never run 1's task against run 2's floor
    assert instr_over_floor(data, ("starlette", "uvicorn"), "async-noop") == [15_000, 15_000]


def test_a_figure_more_than_the_tolerance_above_the_baseline_is_flagged_and_no_cheaper_one() -> None:
    base = instructions({("starlette", "uvicorn", 1): {"none": 730_000, "async-noop": 750_000}})
    now = instructions({("starlette", "uvicorn", 1): {"none": 700_000, "async-noop": 790_000}})  # none: -4.1%
    lines = dict(compare(now["instructions"], base, tolerance=0.02))
    flagged = [line for line, above in lines.items() if above]
    assert len(flagged) == 1 and flagged[0].startswith("starlette-uvicorn /async-noop: 790.0k")
    assert "+5.3%" in flagged[0] and "ABOVE +2%" in flagged[0]
    assert not any(compare(base["instructions"], base, tolerance=0.0)[i][1] for i in range(2))


def test_a_difference_is_called_only_when_its_interval_excludes_none() -> None:
    steady = interval([0.93, 0.94, 0.92, 0.95, 0.93, 0.94, 0.93, 0.92])
    assert steady.high < 1 and steady.verdict() == "less"
    noisy = interval([0.93, 1.04, 0.97, 1.02, 0.95, 1.01, 0.99, 0.96])
    assert noisy.low <= 1 <= noisy.high and noisy.verdict() == "no measurable difference"
    assert interval([0.9, 1.1, 1.0]) == interval([0.9, 1.1, 1.0])  # seeded: the same page twice


def quick(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench.instructions", "--quick", "--only",
                           "starlette-uvicorn", "--out", str(out), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=600)


def test_a_quick_run_catches_an_app_whose_tasks_do_more_work(tmp_path: Path) -> None:
    """The deliberately slower app (tests/bench_apps) adds up numbers in each task: the quick run
    measured against the real app's must flag both task endpoints and nothing else."""
    first = quick(out=tmp_path / "baseline.json")
    assert first.returncode == 0, first.stdout + first.stderr
    slower = quick("--apps", "tests.bench_apps", "--baseline", str(tmp_path / "baseline.json"),
                   out=tmp_path / "slower.json")
    assert slower.returncode == 1, slower.stdout + slower.stderr
    verdicts = {line.split(":")[0]: "ABOVE" in line for line in slower.stdout.splitlines()
                if line.startswith("starlette-uvicorn /")}
    assert verdicts == {"starlette-uvicorn /none": False, "starlette-uvicorn /async-noop": True,
                        "starlette-uvicorn /sync-noop": True}, slower.stdout
    assert "2 figure(s) above the baseline" in slower.stderr
    assert json.loads((tmp_path / "slower.json").read_text())["apps"] == "tests.bench_apps"


def test_two_full_runs_are_compared_figure_by_figure_either_way() -> None:
    """A figure 1.5% below the other run's counts as much as one 1.5% above; the median of each
    figure's runs is what is compared."""
    from bench.data import largest_difference, run_differences

    before = instructions({("quart", "granian", 1): {"none": 900_000, "sync-noop": 1_150_000},
                           ("quart", "granian", 2): {"none": 910_000, "sync-noop": 1_150_000}})
    after = instructions({("quart", "granian", 1): {"none": 905_000, "sync-noop": 1_132_750},
                          ("quart", "granian", 2): {"none": 905_000, "sync-noop": 1_132_750}})
    found = run_differences(after["instructions"], before)
    assert found == pytest.approx({("quart", "granian", "none"): 0.0,
                                   ("quart", "granian", "sync-noop"): 0.015})
    assert largest_difference(found).startswith("1.50% at most (quart-granian /sync-noop)")


def test_the_standard_error_ignores_one_batch_with_a_collection_in_it() -> None:
    """Ten batches within 0.1% of each other: a standard error well under 0.25%, with or without a
    batch 20% above the rest; ten spread by 2% are above it (their pairs go on)."""
    from bench.instructions import standard_error

    steady = [[40, 40 * (700_000 + 700 * (i % 3 - 1))] for i in range(10)]
    assert standard_error(steady) < 0.001
    assert standard_error([*steady[:-1], [40, 40 * 840_000]]) < 0.001
    noisy = [[40, 40 * (700_000 + 14_000 * (i % 3 - 1))] for i in range(10)]
    assert standard_error(noisy) > 0.0025
