"""`python -m conformance.pythons`: both tiers on every Python of the axis (`nox -s pythons`).

    python -m conformance.pythons                  # 3.11, 3.12 and 3.13, all 16 pairs each
    python -m conformance.pythons 3.13             # some of them
    python -m conformance.pythons --sample         # CI's: the sample pairs, on the Pythons named
    python -m conformance.pythons 3.12 -- --tier semantics   # after --: each run's options

Each Python (a record in `shared.axes.PYTHONS`) gets an environment of its own, made with uv
from the interpreter the machine has (on PATH, pyenv's builds, or uv's), with the project's
dependencies at their newest allowed releases; `python -m conformance` runs there, so the
suite and every server run on that Python and each row of its report names it. A Python the
machine does not have is one line, and the others still run. A full run (every Python, every
pair) writes the committed record `docs/pythons/observed.json`, which the semantics page
reads for the cells that depend on the Python, and then every page (`python -m pages`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shared.axes import PYTHONS, Python
from shared.servers import REPO

__all__ = ["ENVIRONMENTS", "OBSERVED", "SAMPLE", "environment", "main", "reexec"]

#: Where each Python's environment is made (kept between runs: the second one installs nothing).
ENVIRONMENTS = REPO / ".nox" / "pythons"
#: What a full sweep observed, committed.
OBSERVED = REPO / "docs" / "pythons" / "observed.json"
#: CI's sample: both ways of running tasks (after the response, at once), h11 and h2c servers.
SAMPLE = (("fastapi", "uvicorn"), ("quart", "hypercorn"))
KEEP = ("tier", "property", "framework", "server", "python", "expected", "observed", "passed")


def _uv() -> list[str]:
    from conformance.history import _uv as found

    return found().split()


def environment(python: Python, log: Any = print) -> Path | None:
    """The interpreter of `python`'s environment, made (or brought up to date) now; None, after
    one line, when the machine has no such Python or the environment cannot be made."""
    from conformance.history import _last_line, project_dependencies

    found = python.find()
    if found is None:
        log(python.missing)
        return None
    venv = ENVIRONMENTS / python.version
    interpreter = venv / "bin" / "python"
    if not interpreter.exists():
        made = subprocess.run(
            [*_uv(), "venv", "-q", "--python", str(found), str(venv)], capture_output=True, text=True
        )
        if made.returncode != 0:
            log(f"Python {python.version} ({found}): no environment: {_last_line(made.stderr)}: skipped")
            return None
    done = subprocess.run(
        [*_uv(), "pip", "install", "-q", "--python", str(interpreter), *project_dependencies()],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        log(
            f"Python {python.version}: the project's dependencies will not install: "
            f"{_last_line(done.stderr)}: skipped"
        )
        return None
    return interpreter


def reexec(version: str, argv: list[str], module: str = "conformance") -> int:
    """`python -m MODULE ARGV` again, on `version`'s environment (2 when there is none)."""
    interpreter = environment(PYTHONS[version], log=lambda line: print(line, file=sys.stderr))
    if interpreter is None:
        return 2
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([str(interpreter), "-m", module, *argv], cwd=REPO, env=env).returncode


def _measure(version: str, sample: bool, extra: list[str]) -> tuple[int, dict[str, Any]]:
    report = REPO / "reports" / f"conformance-{version}.json"
    report.unlink(missing_ok=True)
    argv = ["--report", str(report), "--no-docs", *extra]
    for framework, server in SAMPLE if sample else ():
        argv += ["--framework", framework, "--server", server]
    code = reexec(version, argv)
    data = (
        json.loads(report.read_text(encoding="utf-8")) if report.exists() else {"versions": {}, "results": []}
    )
    return code, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.pythons",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "pythons",
        nargs="*",
        metavar="PYTHON",
        help=f"the Pythons to run on (default: every one: {', '.join(PYTHONS)})",
    )
    parser.add_argument(
        "--sample",
        action="store_true",
        help=f"only the sample pairs ({', '.join('-'.join(p) for p in SAMPLE)})",
    )
    parser.add_argument("--report", default="reports/pythons.json")
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []  # each run's, after `--`
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    unknown = [v for v in args.pythons if v not in PYTHONS]
    if unknown:
        parser.error(
            f"no Python {', '.join(unknown)} on the axis (known: {', '.join(PYTHONS)}; shared/axes.py)"
        )
    chosen = args.pythons or list(PYTHONS)
    runs: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    worst = 0
    for version in chosen:
        started = time.monotonic()
        print(f"== Python {version}", flush=True)
        if PYTHONS[version].find() is None:
            print(PYTHONS[version].missing, flush=True)
            skipped[version] = "not found on this machine"
            continue
        code, data = _measure(version, args.sample, extra)
        rows = data.get("results", [])
        mismatches = sum(not r["passed"] for r in rows)
        print(
            f"== Python {version}: {len(rows)} cells, {mismatches} mismatches, exit {code}, "
            f"{time.monotonic() - started:.0f} s",
            flush=True,
        )
        worst = max(worst, code if code in (0, 1) else 1)
        runs[version] = {
            "versions": data.get("versions", {}),
            "exit": code,
            "cpus": os.cpu_count(),
            "results": [{k: r[k] for k in KEEP if k in r} for r in rows],
        }
    out = {"pythons": runs, "skipped": skipped}
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    total = sum(len(r["results"]) for r in runs.values())
    bad = sum(not row["passed"] for r in runs.values() for row in r["results"])
    print(
        f"{len(runs)} Pythons run ({', '.join(runs) or 'none'}), {len(skipped)} skipped; "
        f"{total} cells, {bad} mismatches; report: {args.report}"
    )
    full = set(chosen) == set(PYTHONS) and not (args.sample or extra) and not skipped and worst == 0
    if full:
        OBSERVED.parent.mkdir(parents=True, exist_ok=True)
        OBSERVED.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        from pages import write

        for path in write():
            print(f"docs: {path.relative_to(REPO)}")
    if not runs:
        return 2
    return worst


if __name__ == "__main__":
    sys.exit(main())
