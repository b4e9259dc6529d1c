"""The suite as a package, from outside the checkout.

The README's worked example is run as written (uv's venv and pip standing in for python's
and pip's, for speed) in a fresh temporary directory: `afterward-conformance` passes the
app written from scratch, names clause 2 for a copy that registers its two tasks in the
wrong order, and says in one line what it cannot test. The package alone installs the
suite and nothing of the reference apps.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from shared.servers import REPO

EXAMPLE = re.compile(r"<!-- package:example -->\n```sh\n(.*?)```\n<!-- /package:example -->", re.S)
UV = f"{shlex.quote(sys.executable)} -m uv"
#: Not this checkout's: the worked example must find the suite where it installed it.
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
#: The example app registers the log task, then the e-mail; the broken copy the other way round.
LOG_TASK = '    if q:\n        tasks.add_task(write_log, f"found query: {q}")\n'
MAIL_TASK = "    tasks.add_task(SENDERS[sender], email)\n"


def worked_example() -> list[str]:
    """The README's commands, for this checkout and with uv's venv and pip."""
    block = EXAMPLE.search((REPO / "README.md").read_text(encoding="utf-8"))
    assert block is not None, "README.md has no <!-- package:example --> block"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    swaps = {"/path/to/afterward": str(REPO),
             "python3 -m venv .venv": f"{UV} venv -q --python {shlex.quote(sys.executable)} .venv",
             ".venv/bin/pip install": f"{UV} pip install -q --python .venv/bin/python"}
    for old, new in swaps.items():
        assert any(old in line for line in lines), f"the worked example no longer says {old!r}"
        lines = [line.replace(old, new) for line in lines]
    return lines


def bash(line: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", line], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A directory outside the checkout in which the worked example's set-up has run: once a
    run, whichever of xdist's workers comes first."""
    root = tmp_path_factory.getbasetemp()
    root = root if worker_id == "master" else root.parent
    where = root / "user-project"
    assert REPO not in where.parents
    with open(root / "user-project.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (where / "set-up").exists():
            where.mkdir(exist_ok=True)
            run = bash("\n".join(worked_example()[:-1]), where)
            assert run.returncode == 0, run.stderr[-3000:]
            (where / "set-up").touch()
    return where


def run_command(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The worked example's last line, the command, with `args` added."""
    return bash(" ".join([worked_example()[-1], *map(shlex.quote, args)]), project)


def test_worked_example_passes_an_app_written_from_scratch(project: Path) -> None:
    run = run_command(project, "--report", "passes.json")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    rows = json.loads((project / "passes.json").read_text())["results"]
    assert rows and all(r["passed"] for r in rows), rows
    assert {r["framework"] for r in rows} == {"notifier"} and {r["server"] for r in rows} == {"uvicorn"}
    assert {r["clause"] for r in rows} == {str(n) for n in range(1, 12)}  # every clause of the spec
    assert " 0 mismatches" in run.stdout


def test_worked_example_names_the_clause_a_broken_app_breaks(project: Path) -> None:
    """The broken copy has the same module name, in `--app-dir`: the servers must import it
    from there, not from the current directory, where the app that passes is."""
    source = (project / "notifier.py").read_text(encoding="utf-8")
    assert LOG_TASK + MAIL_TASK in source
    broken = project / "broken"
    broken.mkdir(exist_ok=True)
    (broken / "notifier.py").write_text(source.replace(LOG_TASK + MAIL_TASK, MAIL_TASK + LOG_TASK))
    # Only clause 2's tests: the whole tier on this app is the test above.
    run = run_command(project, "--app-dir", "broken", "--report", "broken.json", "--", "-k", "log_entry")
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    rows = json.loads((project / "broken.json").read_text())["results"]
    order = [r for r in rows if r["property"].startswith("log_entry_is_written_before_the_email_is_sent")]
    assert len(order) == 2 and not any(r["passed"] for r in order), order
    named = re.search(r"^Clauses broken: (.*) \(see shared/SPEC.md\)$", run.stdout, re.M)
    assert named is not None and "2" in named.group(1).split(", "), run.stdout[-3000:]


def test_an_app_that_does_not_import_is_one_line_saying_where_it_looked(project: Path) -> None:
    run = bash(".venv/bin/afterward-conformance --app notifer:app", project, timeout=120)
    assert run.returncode == 2, run.stdout[-3000:]
    assert run.stderr.strip().count("\n") == 0, run.stderr
    assert "--app notifer:app: cannot import it (ModuleNotFoundError" in run.stderr, run.stderr
    assert f"looked in {project.resolve()}" in run.stderr, run.stderr


def test_a_server_not_installed_is_one_line_naming_its_extra(project: Path) -> None:
    assert bash(".venv/bin/python -c 'import hypercorn'", project).returncode != 0
    run = bash(".venv/bin/afterward-conformance --app notifier:app --server hypercorn", project, timeout=120)
    assert run.returncode == 2, run.stdout[-3000:]
    assert run.stderr.strip().count("\n") == 0, run.stderr
    assert "--server hypercorn is not installed here (hypercorn is not installed)" in run.stderr, run.stderr
    assert "pip install 'afterward[hypercorn]'" in run.stderr, run.stderr


#: What only a checkout has: none of it may come with the package.
NOT_INSTALLED = ("frameworks", "bench", "reliability", "shared.mailer", "shared.validation", "shared.demo",
                 "conformance.wrong_apps", "conformance.probes.fastapi_probe", "fastapi", "starlette",
                 "uvicorn")
#: Imports every module the package installed, and tries the names in argv.
INVENTORY = """
import importlib, json, pkgutil, sys
found = {}
for name in ("conformance", "shared"):
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        found[module.name] = importlib.import_module(module.name).__file__
present = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:
        continue
    present.append(name)
print(json.dumps({"modules": found, "present": present}))
"""


def test_the_package_alone_is_the_suite_without_the_reference_apps(tmp_path: Path) -> None:
    setup = bash(f"{UV} venv -q --python {shlex.quote(sys.executable)} .venv && "
                 f"{UV} pip install -q --python .venv/bin/python {shlex.quote(str(REPO))}", tmp_path)
    assert setup.returncode == 0, setup.stderr[-3000:]
    inventory = bash(shlex.join([".venv/bin/python", "-c", INVENTORY, *NOT_INSTALLED]), tmp_path, timeout=120)
    assert inventory.returncode == 0, inventory.stderr[-3000:]
    found = json.loads(inventory.stdout)
    assert {"conformance.command", "conformance.test_contract", "shared.sink"} <= set(found["modules"])
    venv = (tmp_path / ".venv").resolve()
    assert all(venv in Path(f).resolve().parents for f in found["modules"].values()), found["modules"]
    assert found["present"] == [], f"installed without being asked for: {found['present']}"
    run = bash(".venv/bin/afterward-conformance --app notifier:app", tmp_path, timeout=120)
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0, run.stderr
    assert "no server is installed here: pip install 'afterward[uvicorn]' or" in run.stderr, run.stderr
