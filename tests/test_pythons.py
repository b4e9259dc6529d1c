"""The Python axis: a sweep skips a missing interpreter in one line and runs the others; `--python`
re-runs the suite on another Python's environment and reaches the installed command too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from conformance import pythons
from conformance.__main__ import _without_python
from shared import axes
from shared.axes import Python
from shared.servers import REPO

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"


def _fake_measure(version: str, sample: bool, extra: list[str]) -> tuple[int, dict[str, Any]]:
    row = {"tier": "semantics", "property": "p", "framework": "quart", "server": "uvicorn",
           "python": version, "expected": True, "observed": True, "passed": True}
    return 0, {"versions": {"python": version}, "results": [row]}


def test_a_missing_python_is_skipped_in_one_line_and_the_others_run(  # noqa: ANN001
        tmp_path: Path, monkeypatch, capsys) -> None:
    axis = {HERE: axes.PYTHONS[HERE], "3.99": Python("3.99")}
    monkeypatch.setattr(pythons, "PYTHONS", MappingProxyType(axis))
    monkeypatch.setattr(pythons, "_measure", _fake_measure)
    report = tmp_path / "pythons.json"
    assert pythons.main([HERE, "3.99", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    missing = [line for line in out.splitlines() if "3.99" in line and "not found" in line]
    assert len(missing) == 1 and missing[0] == Python("3.99").missing
    data = json.loads(report.read_text())
    assert list(data["pythons"]) == [HERE] and data["skipped"] == {"3.99": "not found on this machine"}
    assert data["pythons"][HERE]["results"][0]["python"] == HERE


def test_a_sweep_with_only_missing_pythons_fails(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(pythons, "PYTHONS", MappingProxyType({"3.99": Python("3.99")}))
    assert pythons.main(["3.99", "--report", str(tmp_path / "r.json")]) == 2


def test_a_mismatch_on_one_python_fails_the_sweep(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    def wrong(version: str, sample: bool, extra: list[str]) -> tuple[int, dict[str, Any]]:
        code, data = _fake_measure(version, sample, extra)
        data["results"][0]["passed"] = False
        return 1, data

    monkeypatch.setattr(pythons, "_measure", wrong)
    assert pythons.main([HERE, "--report", str(tmp_path / "r.json")]) == 1


def test_an_unknown_python_is_refused() -> None:
    done = subprocess.run([sys.executable, "-m", "conformance.pythons", "3.9"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "no Python 3.9 on the axis" in done.stderr


def test_python_is_taken_out_of_the_arguments_before_the_run() -> None:
    assert _without_python(["--python", "3.13", "--framework", "quart"]) == ["--framework", "quart"]
    assert _without_python(["--python=3.12", "--", "--python", "x"]) == ["--", "--python", "x"]


@pytest.mark.parametrize("value", ["3.9", "/no/such/python"])
def test_the_installed_command_refuses_a_python_it_cannot_run(value: str) -> None:
    command = [sys.executable, "-m", "conformance.command", "--app", "m:app", "--python", value]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "--python" in done.stderr
