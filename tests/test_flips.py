"""The semantics tier can fail: every measured cell has a wrong probe, and the suite reports it."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance.declared import cell
from conformance.flips import plan
from shared.servers import FRAMEWORKS, REPO, SERVERS

ALL_PAIRS = [(f, s) for f in FRAMEWORKS for s in SERVERS]


def test_every_measured_cell_has_a_wrong_probe() -> None:
    groups, missing = plan(ALL_PAIRS)
    assert missing == [], "cells no wrong probe flips: add one to conformance/flips.toml"
    assert sum(len(cells) for cells in groups.values()) > 150


def test_a_cell_the_probe_decides_is_by_construction_and_has_no_wrong_probe() -> None:
    declared = cell("dependency_task_runs_first", "litestar", "uvicorn")
    assert declared is not None and declared.by_construction and not declared.measured
    groups, _ = plan([("litestar", "uvicorn")])
    planned = [c for cells in groups.values() for c in cells]
    assert ("dependency_task_runs_first", "litestar", "uvicorn") not in planned


def test_the_sample_of_wrong_probes_is_reported_as_mismatches(tmp_path: Path) -> None:
    """CI's share of `python -m conformance.flips` (the whole run is `nox -s flips`)."""
    report = tmp_path / "flips.json"
    run = subprocess.run([sys.executable, "-m", "conformance.flips", "--sample", "--report", str(report)],
                         cwd=REPO, capture_output=True, text=True, timeout=1200)
    cells = json.loads(report.read_text())["cells"]
    not_flipped = [c for c in cells if c["flipped"] != c["runs"] or not c["runs"]]
    assert run.returncode == 0 and not not_flipped, (not_flipped, run.stdout[-3000:])
    assert {(c["framework"], c["server"]) for c in cells} == {("fastapi", "hypercorn"), ("quart", "uvicorn")}
    assert len(cells) > 40 and not any(c["race"] for c in cells)


def test_a_server_that_never_exits_on_sigterm_is_a_mismatch(tmp_path: Path) -> None:
    """The exit code is compared, not only recorded: the task finishes, the server hangs."""
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "conformance", "--tier", "semantics", "--framework", "fastapi",
         "--server", "uvicorn", "--workers", "0", "--report", str(report),
         "--", "-k", "test_sigterm_lets_short_task_finish"],
        cwd=REPO, env={**os.environ, "AFTERWARD_PROBE_FLIP": "ignore_term"}, capture_output=True, text=True,
        timeout=300)
    rows = [r for r in json.loads(report.read_text())["results"]
            if r["property"] == "sigterm_lets_short_task_finish"]
    assert run.returncode == 1, run.stdout[-2000:]
    assert [(r["observed"], r["exit_code"], r["passed"]) for r in rows] == [(True, None, False)]
