"""The independent apps (independent/) and their one-clause mutants, run against the contract tier.

    python -m mutation --independent                  # every mutant of both apps: the data, the page
    python -m mutation --independent --app fastify    # one app's (its rows of the data replaced)
    python -m mutation --independent --only c8-q-length-in-utf16-units   # its row replaced
    python -m mutation --independent --long           # the survivors again, with the suite's --long

Each app was written from shared/SPEC.md alone; each mutant (mutation/independent_mutants.py)
breaks one sentence of it, named. A mutant is made in a copy of the app (its edits must each
match exactly once), then the contract tier runs on it the way a user runs it: the Falcon app
with `afterward-conformance --app notifier:app --app-dir COPY --server uvicorn`, the Node app by
URL (`node server.js` started here with the suite's configuration, `--url --log --events`).
Killed: the suite exits 1 naming a broken clause (or its pre-flight refuses, exit 2, an app whose
`GET /health` never answers 200: clause 7); survived: it exits 0; anything else is the machinery
failing, never a kill. A full run ends with its survivors run again with the suite's `--long`
(the checks that wait out clause 9's 30-s default). The outcomes go to
docs/mutation/independent.json, rendered into docs/mutation.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mutation.independent_mutants import MUTANTS, Mutant

__all__ = [
    "APPS",
    "DATA",
    "App",
    "apply",
    "check",
    "copy_app",
    "fastify_tree",
    "main",
    "make",
    "running_node_app",
    "write",
]

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "docs" / "mutation" / "independent.json"
#: The suite's option for the checks that wait out a default of clause 9 (the 30-s SMTP time-out):
#: `--long` runs the survivors again with it.
LONG = ("--long",)
#: Seconds one run of the contract tier on one mutant may take before it counts as the machinery failing.
DEADLINE = 300


@dataclass(frozen=True)
class App:
    name: str
    folder: str  # relative to the checkout
    what: str  # for the page
    checked_by: str  # for the page
    #: Whether `--long` can kill more on it: by URL the suite cannot start the app again with its
    #: defaults, but it can wait out the app's own SMTP time-out (an unanswered QUIT).
    long: bool = False

    @property
    def source(self) -> Path:
        return REPO / self.folder


APPS: dict[str, App] = {
    "falcon": App(
        "falcon",
        "independent/falcon_notifier",
        "Python, Falcon's ASGI app",
        "`afterward-conformance --app notifier:app --app-dir ...` (uvicorn)",
        long=True,
    ),
    "fastify": App(
        "fastify",
        "independent/fastify_notifier",
        "Node.js, Fastify and nodemailer",
        "`afterward-conformance --url ... --log ... --events ...` (`node server.js`)",
        long=True,
    ),
}


def apply(text: str, removed: str, added: str, where: str) -> str:
    """`text` with its one occurrence of `removed` replaced; ValueError when it has none or several."""
    found = text.count(removed)
    if found != 1:
        raise ValueError(f"{where}: the mutant's text occurs {found} times, not once: {removed[:60]!r}")
    return text.replace(removed, added)


def make(mutant: Mutant, tree: Path) -> None:
    """Apply the mutant's edits to the app's copy at `tree`."""
    for file, removed, added in mutant.edits:
        path = tree / file
        path.write_text(
            apply(path.read_text(encoding="utf-8"), removed, added, f"{mutant.name}: {file}"),
            encoding="utf-8",
        )


def copy_app(app: App, into: Path, node_modules: Path | None = None) -> Path:
    """The app's files (never node_modules) in a fresh folder, the installed node_modules linked in."""
    shutil.copytree(app.source, into, ignore=shutil.ignore_patterns("node_modules", "__pycache__"))
    if node_modules is not None:
        (into / "node_modules").symlink_to(node_modules, target_is_directory=True)
    return into


def fastify_tree(workdir: Path) -> Path:
    """The Node app installed with `npm ci` from its lockfile in a folder of its own."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("node and npm are needed for the Node app (independent/fastify_notifier)")
    tree = copy_app(APPS["fastify"], workdir / "fastify-installed")
    run = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if run.returncode != 0:
        raise RuntimeError(f"npm ci failed in {tree}: {run.stderr.strip()[-500:]}")
    return tree


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_node_app(tree: Path, workdir: Path) -> Iterator[tuple[list[str], Path]]:
    """`node server.js` from `tree`, configured for a run by URL: the suite's options, and the output."""
    port, smtp = free_port(), free_port()
    log, events, output = workdir / "app.log", workdir / "app-events.jsonl", workdir / "node.out"
    env = {
        **os.environ,
        "AFTERWARD_SMTP_HOST": "127.0.0.1",
        "AFTERWARD_SMTP_PORT": str(smtp),
        "AFTERWARD_LOG_PATH": str(log),
        "AFTERWARD_EVENTS": str(events),
    }
    with output.open("wb") as out:
        node = subprocess.Popen(
            ["node", "server.js", "--port", str(port)],
            cwd=tree,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield (
            [
                "--url",
                f"http://127.0.0.1:{port}",
                "--log",
                str(log),
                "--events",
                str(events),
                "--smtp-port",
                str(smtp),
            ],
            output,
        )
    finally:
        if node.poll() is None:
            os.killpg(node.pid, signal.SIGKILL)
        node.wait()


def check(app: App, tree: Path, workdir: Path, pytest_args: tuple[str, ...] = (),
          options: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run the contract tier on the app at `tree` as a user would: exit code, failed tests, seconds."""
    report = workdir / "report.json"
    command = [sys.executable, "-m", "conformance.command", "--report", str(report), *options]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    try:
        if app.name == "fastify":
            with running_node_app(tree, workdir) as (options, output):
                run = subprocess.run(
                    [*command, *options, "--", *pytest_args],
                    cwd=workdir,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=DEADLINE,
                )
                app_output = output.read_text(encoding="utf-8", errors="replace")
        else:
            run = subprocess.run(
                [
                    *command,
                    "--app",
                    "notifier:app",
                    "--app-dir",
                    str(tree),
                    "--server",
                    "uvicorn",
                    "--",
                    *pytest_args,
                ],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=DEADLINE,
            )
            app_output = ""
    except subprocess.TimeoutExpired:
        return {
            "exit": None,
            "failed": [],
            "seconds": round(time.monotonic() - started, 1),
            "output": f"no end within {DEADLINE} s",
        }
    results = json.loads(report.read_text(encoding="utf-8"))["results"] if report.exists() else []
    failed = [{"test": r["property"], "clause": r["clause"]} for r in results if not r["passed"]]
    return {
        "exit": run.returncode,
        "failed": failed,
        "seconds": round(time.monotonic() - started, 1),
        "output": (run.stdout[-3000:] + run.stderr[-2000:] + app_output[-1000:]),
    }


#: What the suite's pre-flight names, with exit code 2, for an app whose `GET /health` never answers
#: 200 (`--app`: "GET /health answered 503 ..."; `--url`: "GET /health did not answer 200 ..."): the
#: user is told the app fails clause 7 before any test runs.
HEALTH_REFUSED = re.compile(r"GET /health (answered|did not answer 200)")


def outcome(result: dict[str, Any]) -> str:
    if result["exit"] == 1 and result["failed"]:
        return "killed"
    if result["exit"] == 2 and HEALTH_REFUSED.search(result["output"]):
        result["failed"] = [{"test": "pre-flight (GET /health, exit 2)", "clause": "7"}]
        return "killed"
    if result["exit"] == 0 and not result["failed"]:
        return "survived"
    return "error"


def run_mutant(mutant: Mutant, workdir: Path, node_modules: Path | None,
               long: bool = False) -> dict[str, Any]:
    app = APPS[mutant.app]
    here = Path(tempfile.mkdtemp(prefix=f"{mutant.app}-{mutant.name}-", dir=workdir))
    tree = copy_app(app, here / "app", node_modules)
    make(mutant, tree)
    result = check(app, tree, here, options=LONG if long else ())
    found = outcome(result)
    row = {
        "app": mutant.app,
        "name": mutant.name,
        "clause": mutant.clause,
        "sentence": mutant.sentence,
        "outcome": found,
        "seconds": result["seconds"],
    }
    if long:
        row["long"] = True
    if found == "killed":
        tests = sorted({f["test"].partition("[")[0] for f in result["failed"]})
        row["killed_by"] = tests
        row["clauses"] = sorted({f["clause"] for f in result["failed"]}, key=int)
    if found == "error":
        row["message"] = (
            result["output"].strip().splitlines()[-1:][0][:300] if result["output"].strip() else ""
        )
        print(result["output"], file=sys.stderr)
    return row


def versions(node_tree: Path | None) -> dict[str, str]:
    import importlib.metadata

    found = {"falcon": importlib.metadata.version("falcon")}
    if node_tree is not None:
        found["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        for package in ("fastify", "nodemailer"):
            meta = json.loads(
                (node_tree / "node_modules" / package / "package.json").read_text(encoding="utf-8")
            )
            found[package] = meta["version"]
    return found


def tested_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    changed = git("status", "--porcelain", "--untracked-files=no", "--", "independent", "mutation")
    return (git("rev-parse", "--short", "HEAD") or "unknown") + (
        " with uncommitted changes" if changed else ""
    )


def main(apps: list[str], only: list[str], long: bool = False) -> int:
    """Run the mutants (`long`: the survivors in the data, with the suite's `--long`); write the data."""
    chosen = [m for m in MUTANTS if (not apps or m.app in apps) and (not only or m.name in only)]
    if long:
        data = json.loads(DATA.read_text(encoding="utf-8"))
        survivors = {(r["app"], r["name"]) for r in data["mutants"] if r["outcome"] == "survived"}
        chosen = [m for m in chosen if (m.app, m.name) in survivors and APPS[m.app].long]
        if not chosen:
            print("no survivor of an app the suite's --long can run on", flush=True)
            return 0
    if not chosen:
        print(f"no such mutant: {', '.join(only)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="afterward-independent-") as tmp:
        workdir = Path(tmp)
        node_tree = fastify_tree(workdir) if any(m.app == "fastify" for m in chosen) else None
        node_modules = node_tree / "node_modules" if node_tree else None
        for app in sorted({m.app for m in chosen}):
            here = workdir / f"{app}-pristine"
            tree = copy_app(APPS[app], here / "app", node_modules if app == "fastify" else None)
            pristine = check(APPS[app], tree, here)
            if outcome(pristine) != "survived":
                print(pristine["output"], file=sys.stderr)
                print(f"{app}: the app itself does not pass the contract tier ({pristine['failed']}): "
                      "its mutants would prove nothing", file=sys.stderr)
                return 1
            print(f"{app}: the app itself passes the contract tier ({pristine['seconds']:.0f} s)", flush=True)
        print(f"{len(chosen)} mutant(s) of the independent apps; killer: the contract tier", flush=True)
        rows = []
        for n, mutant in enumerate(chosen, 1):
            row = run_mutant(mutant, workdir, node_modules if mutant.app == "fastify" else None, long)
            rows.append(row)
            how = ", ".join(row.get("killed_by", [])) or row.get("message", "")
            print(
                f"[{n:2d}/{len(chosen)}] {time.monotonic() - started:5.0f}s {row['outcome']:<8} "
                f"{mutant.app} {mutant.name} ({row['seconds']:.0f} s) {how[:120]}",
                flush=True,
            )
        found = versions(node_tree)
    seconds = round(time.monotonic() - started)
    errors = [r for r in rows if r["outcome"] == "error"]
    for app in sorted({r["app"] for r in rows}):
        mine = [r for r in rows if r["app"] == app]
        print(f"{app}: {sum(r['outcome'] == 'killed' for r in mine)} of {len(mine)} killed")
    if errors:
        return 1
    write(
        rows,
        {
            "apps": sorted({r["app"] for r in rows}),
            "what": "survivors, with --long" if long else "some" if only else "all",
            "mutants": len(rows),
            "seconds": seconds,
            "commit": tested_commit(),
            "versions": found,
        },
    )
    if not long and any(r["outcome"] == "survived" and APPS[r["app"]].long for r in rows):
        return main(apps, [], long=True)
    return 0


def write(rows: list[dict[str, Any]], run: dict[str, Any]) -> None:
    """The data with this run's mutants in place of their rows (all of an app's, on a run of all), and
    the page again. A run of all of an app's mutants replaces its runs before; a `--long` run adds to them."""
    from mutation import report

    data = json.loads(DATA.read_text(encoding="utf-8")) if DATA.exists() else {"runs": [], "mutants": []}
    fresh = {(r["app"], r["name"]): r for r in rows}
    known = {(m.app, m.name): n for n, m in enumerate(MUTANTS)}
    replaced = set(run["apps"]) if run["what"] == "all" else set()
    kept = [m for m in data["mutants"] if m["app"] not in replaced and (m["app"], m["name"]) not in fresh]
    runs = [r for r in data["runs"] if not set(r["apps"]) <= replaced]
    mutants = [m for m in [*kept, *fresh.values()] if (m["app"], m["name"]) in known]
    data = {"runs": [*runs, run], "mutants": sorted(mutants, key=lambda m: known[m["app"], m["name"]])}
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    report.PAGE.write_text(
        report.render(json.loads(report.DATA.read_text(encoding="utf-8"))), encoding="utf-8"
    )
    print(f"docs: {DATA.relative_to(REPO)}, {report.PAGE.relative_to(REPO)}")
