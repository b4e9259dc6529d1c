"""The README's first command, word for word, as a new user runs it on an externally managed Python.

Debian's, Ubuntu's and Homebrew's system Pythons are externally managed (PEP 668): `pip install`
into them stops with `error: externally-managed-environment`. The command is run in a copy of
this checkout's tracked files, with the machine's Debian `python3` first on `PATH` and nothing of
the test's own environment. pytest's `PYTEST_ADDOPTS` keeps the suite it starts to one pair,
so that the words stay the README's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.servers import REPO

#: The system Python of a Debian or Ubuntu machine; `noxfile.py`'s tests session installs its `venv`.
SYSTEM_PYTHON = Path("/usr/bin/python3")
#: The one pair the suite runs here: the command's words are the README's, pytest's options the test's.
ONE_PAIR = "--framework starlette --server uvicorn"
RUN_IT = re.compile(r"^## Run it\n(.*?)^## ", re.S | re.M)


def readme_commands() -> list[str]:
    """The commands of the README's "Run it" section, one per `sh` block, in order."""
    section = RUN_IT.search((REPO / "README.md").read_text(encoding="utf-8"))
    assert section is not None, 'README.md has no "## Run it" section'
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section.group(1), re.S)]


def externally_managed(python: Path) -> bool:
    """Does `python` carry PEP 668's marker in its standard library?"""
    if not python.exists():
        return False
    stdlib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    return (Path(stdlib) / "EXTERNALLY-MANAGED").exists()


@pytest.fixture(scope="module")
def system_python() -> Path:
    if not Path("/etc/debian_version").exists():
        pytest.skip("not a Debian or Ubuntu machine: no system Python of theirs to run the README with")
    assert externally_managed(SYSTEM_PYTHON), f"{SYSTEM_PYTHON} is not externally managed (PEP 668)"
    return SYSTEM_PYTHON


def _copy(tmp: Path) -> Path:
    """The tracked files of this checkout (as they are in the work tree), as a fresh clone has them."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True)
    for name in filter(None, files.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp / name)
    return tmp


#: What this test run adds to the machine's environment, and a new user's shell has not.
OURS = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "AFTERWARD_", "PYTEST_", "NOX_", "PYTHONDONTWRITEBYTECODE")


def user_env(system_python: Path) -> dict[str, str]:
    """A new user's shell on this machine (its proxy and certificate settings kept): the system
    Python first on PATH, nothing of this test run's own environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
    here = str(system_python.parent)
    rest = [p for p in env.get("PATH", "/bin").split(":") if ".nox" not in p and p != here]
    return env | {"PATH": ":".join([here, *rest]), "PYTEST_ADDOPTS": ONE_PAIR}


def test_the_readme_installs_nox_in_a_venv_not_in_the_system_python() -> None:
    commands = readme_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands), commands
    run_suite, run_all = commands
    for command in commands:
        assert command.startswith("python3 -m venv .venv && .venv/bin/python -m pip install "), command
    assert run_suite.endswith("nox -s conformance") and run_all.endswith("nox"), commands
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert run_all in ci, ".ci/run does not run the README's test command word for word"


def test_plain_pip_is_refused_by_the_system_python(system_python: Path, tmp_path: Path) -> None:
    """Why the README goes through a venv: the words it said before stop there, installing nothing."""
    done = subprocess.run(["bash", "-c", 'python3 -m pip install "nox[uv]"'], cwd=tmp_path,
                          env=user_env(system_python), capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "externally-managed-environment" in done.stderr, done.stderr[-2000:]


def test_the_first_command_runs_the_suite_with_the_system_python(system_python: Path, tmp_path: Path) -> None:
    clone = _copy(tmp_path / "afterward")
    run_suite = readme_commands()[0]
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", run_suite], cwd=clone,
                          env=user_env(system_python), capture_output=True, text=True, timeout=900)
    problems = [line for line in done.stdout.splitlines() if line.startswith(("MISMATCH", "FAILED", "ERROR"))]
    assert done.returncode == 0, "\n".join(problems[:20]) + done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((clone / "reports" / "conformance.json").read_text(encoding="utf-8"))
    rows = report["results"]
    assert rows and all(r["passed"] for r in rows)
    assert {(r["framework"], r["server"]) for r in rows} == {("starlette", "uvicorn")}
    assert {r["python"] for r in rows} == {"3.11"}
    interpreter = (clone / ".venv" / "pyvenv.cfg").read_text(encoding="utf-8")
    assert f"home = {system_python.parent}" in interpreter, interpreter
