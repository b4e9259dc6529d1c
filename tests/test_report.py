"""The report never says less than pytest: a failure after a measurement is a failing row."""

import json
import os
import subprocess
import sys
from pathlib import Path

from shared.servers import REPO

MEASURES_THEN_FAILS = '''
import pytest
from conformance.fixtures import Pair


@pytest.mark.parametrize("server", ["uvicorn"])
def test_measures_then_fails(server, metric):
    metric(Pair("fastapi", server, ""), "a_number", 1, 1)
    assert False, "failed after measuring"


@pytest.mark.parametrize("server", ["uvicorn"])
def test_measures_and_passes(server, metric):
    metric(Pair("starlette", server, ""), "a_number", 1, 1)
'''


def run_plugin(tmp_path: Path, source: str) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    (tmp_path / "test_subject.py").write_text(source)
    report = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path / "test_subject.py"),
                          "-p", "no:cacheprovider", "-p", "conformance.fixtures", "-p", "conformance.plugin",
                          "--report", str(report),
                          "--rootdir", str(tmp_path)],
                         cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                         text=True, timeout=120)
    return run, json.loads(report.read_text())["results"]


def test_a_test_failing_after_a_passed_measurement_adds_a_failing_row(tmp_path: Path) -> None:
    run, rows = run_plugin(tmp_path, MEASURES_THEN_FAILS)
    assert run.returncode == 1
    failing = [r for r in rows if not r["passed"]]
    assert [(r["framework"], r["property"]) for r in failing] == [("all", "measures_then_fails")]
    assert failing[0]["observed"].startswith("error after measuring (call)")
    assert "0 mismatches" not in run.stdout and "1 mismatches" in run.stdout
    assert sum(r["passed"] for r in rows) == 2  # both measurements kept
