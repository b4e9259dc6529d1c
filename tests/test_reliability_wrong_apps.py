"""The reliability checks can fail: each deliberately wrong (or different) app in
reliability/wrong_apps/ is caught, by the row that names what broke. The reference apps pass
the same checks in `nox -s reliability_quick`, in the same default run."""

import json
import subprocess
import sys

import pytest

from shared.servers import REPO

#: app -> (the checks to run, the rows that must fail)
WRONG = {
    "duplicate_hides_loss": (["-k", "load"], {"load_delivered", "load_duplicates"}),
    "lets_control_in_q": (["-k", "fuzz"], {"fuzz_answers_unlike_the_oracle"}),
    "durable_outbox": (["-k", "sigkill"], {"sigkill_in_flight_lost"}),
    # Full size: the 4-s hold after SIGTERM, which the quick variant does not wait.
    "fire_and_forget": (["--full", "-k", "sigterm and defaults"], {"sigterm_confirmed_defaults"}),
}


def run(app_args: list[str], checks: list[str], report) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reliability", *checks, *app_args, "--server", "uvicorn", "-n", "0",
         "--report", str(report)], cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", WRONG)
def test_reliability_checks_catch_wrong_app(name: str, tmp_path) -> None:
    checks, rows = WRONG[name]
    done = run(["--app", f"reliability.wrong_apps.{name}:app"], checks, tmp_path / "report.json")
    assert done.returncode != 0, done.stdout[-3000:]
    failed = {r["property"] for r in json.loads((tmp_path / "report.json").read_text())["results"]
              if not r["passed"]}
    assert rows <= failed, (failed, done.stdout[-3000:])
