"""The suite can fail: run against deliberately wrong apps, it names the clause each breaks."""

import json
import subprocess
import sys

import pytest

from shared.servers import REPO

WRONG = {
    "answers_after_tasks": "5",
    "sync_sender_on_loop": "6",
    "email_before_log": "2",
    "two_emails": "3",
}


@pytest.mark.parametrize("name", WRONG)
def test_contract_tier_catches_wrong_app(name: str, tmp_path) -> None:
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "conformance", "--app", f"conformance.wrong_apps.{name}:app",
         "--server", "uvicorn", "--workers", "0", "--report", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode != 0, run.stdout[-2000:]
    failed = [r for r in json.loads(report.read_text())["results"] if not r["passed"]]
    assert WRONG[name] in {r["clause"] for r in failed}, run.stdout[-2000:]
    assert "Clauses broken:" in run.stdout


def test_reference_app_passes_the_same_run(tmp_path) -> None:
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "conformance", "--app", "frameworks.starlette_app:app",
         "--server", "uvicorn", "--workers", "0", "--report", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:]
    assert all(r["passed"] for r in json.loads(report.read_text())["results"])


BAD_USE = {
    "nosuch.module:app": "cannot import it (ModuleNotFoundError",
    "frameworks.fastapi_app:nope": "has no attribute 'nope'",
    "shared.spec:SENT_MESSAGE": "dict object is not an ASGI app",
    "conformance.wrong_apps.never_ready:app": "not ready within 30 s: GET /health answered 503",
}


@pytest.mark.parametrize("app", BAD_USE)
def test_an_app_that_cannot_be_tested_is_one_line_and_exit_2(app: str, tmp_path) -> None:
    run = subprocess.run([sys.executable, "-m", "conformance", "--app", app, "--server", "uvicorn",
                          "--report", str(tmp_path / "report.json")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout[-2000:]
    assert run.stderr.strip().count("\n") == 0 and BAD_USE[app] in run.stderr, run.stderr
    assert not (tmp_path / "report.json").exists()
