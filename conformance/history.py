"""`python -m conformance.history`: the conformance suite on named sets of older releases.

    python -m conformance.history                    # every set in conformance/versions.toml but
                                                     # `own_run` ones (lowest: `nox -s lowest`)
    python -m conformance.history starlette-0.20.1   # some sets
    python -m conformance.history --ci               # the sets CI runs ([ci] in versions.toml)
    python -m conformance.history --merge quart-0.16.0   # some sets, into the committed record

Each set is installed in a virtual environment of its own (uv; on the axis' first Python, or the
one the set pins with `python = "3.12"`) and measured by
`python -m conformance` there, so every cell is checked against the declared table as it was
at the installed releases (`conformance/changes.toml`); a mismatch fails the run. A set name
that is not declared, or a set that will not install, is one line: the other sets still run
and the report lists what was skipped and why. The report (`reports/history.json`) records
each set's installed versions and rows; every row is checked again here against the change
table, from the recorded versions, and each declared change must have been observed on both
sides of its release. A full run renders docs/versions.md; so does `--merge`, which puts the sets
it measured into the committed record (docs/versions/observed.json) beside the others' entries.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.version import Version

from conformance.declared import Change, at_releases, changes, changes_for, properties
from shared.axes import PYTHONS, SERVERS
from shared.servers import FRAMEWORKS, REPO

__all__ = ["OBSERVED", "SETS", "VersionSet", "compact", "coverage", "load_sets", "main", "merged", "recheck"]

SETS = Path(__file__).with_name("versions.toml")
#: What a full run observed, committed: docs/versions.md is rendered from it (and tests read it).
OBSERVED = REPO / "docs" / "versions" / "observed.json"
ROW_KEYS = ("tier", "property", "framework", "server", "expected", "observed", "passed")
FRAMEWORKS_PACKAGES = tuple(f.package for f in FRAMEWORKS.values())
#: The versions a set's entry shows: the frameworks', each server's own package (from the
#: records), and anyio, whose thread pool Starlette's and FastAPI's `def` tasks run in.
SHOWN_PACKAGES = (*FRAMEWORKS_PACKAGES, *dict.fromkeys(s.packages[0] for s in SERVERS.values()), "anyio")
#: What runs the suite in a set's environment, besides the project's own dependencies (their bounds
#: from pyproject.toml's `test` group; they resolve normally, within what the set installed).
TOOL_NAMES = ("pytest", "pytest-xdist")
FREEZE = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.name.lower(): d.version for d in m.distributions()}))"
)


@dataclass(frozen=True)
class VersionSet:
    name: str
    about: str
    requirements: tuple[str, ...] = ()
    resolution: str = "highest"
    frameworks: tuple[str, ...] = ()
    servers: tuple[str, ...] = ("uvicorn",)
    tiers: tuple[str, ...] = ("semantics",)
    #: Measured by `nox -s history` with no set named; a set with `own_run = true` runs only when named
    #: (its session of its own), and the full run keeps its entry from the committed record.
    default: bool = True
    #: The Python the set is measured on (a record of `shared.axes.PYTHONS`): the axis' first unless
    #: the set pins another (`python = "3.12"`), for releases that need one.
    python: str = next(iter(PYTHONS))


def load_sets(path: Path = SETS) -> tuple[dict[str, VersionSet], list[str]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    sets = {
        name: VersionSet(
            name,
            body.get("about", ""),
            tuple(body.get("requirements", ())),
            body.get("resolution", "highest"),
            tuple(body.get("frameworks", ())),
            tuple(body.get("servers", ("uvicorn",))),
            tuple(body.get("tiers", ("semantics",))),
            not body.get("own_run", False),
            body.get("python", next(iter(PYTHONS))),
        )
        for name, body in data.get("sets", {}).items()
    }
    return sets, list(data.get("ci", {}).get("sets", []))


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def project_dependencies() -> list[str]:
    """What the nox sessions install: the suite's own dependencies, every server's extra and the
    reference apps' frameworks (noxfile.py's DEPENDENCIES)."""
    project = _pyproject()
    return [
        *project["project"]["dependencies"],
        *(r for extra in project["project"].get("optional-dependencies", {}).values() for r in extra),
        *(r for r in project["dependency-groups"].get("reference", []) if isinstance(r, str)),
    ]


def tools() -> list[str]:
    return [r for r in _pyproject()["dependency-groups"]["test"] if Requirement(r).name in TOOL_NAMES]


def managers_only() -> set[str]:
    """The requirements only a process manager's extra brings (gunicorn's): the history measures the
    servers alone, and an older server need not install beside them (uvicorn-worker needs a recent
    uvicorn)."""
    from shared.axes import MANAGERS

    extras = _pyproject()["project"].get("optional-dependencies", {})
    return {r for name in MANAGERS for r in extras.get(name, [])}


def requirements(vset: VersionSet) -> list[str]:
    """The set's pins, the measured frameworks' bounds unless pinned, the project's other dependencies
    (but the process managers' own)."""
    pinned = {Requirement(r).name.lower() for r in vset.requirements}
    out = list(vset.requirements)
    managers = managers_only()
    for raw in project_dependencies():
        name = Requirement(raw).name.lower()
        if name in pinned or (name in FRAMEWORKS_PACKAGES and name not in vset.frameworks) or raw in managers:
            continue
        out.append(raw)
    return out


def _uv() -> str:
    found = os.environ.get("AFTERWARD_UV") or shutil.which("uv")
    if found:
        return found
    return f"{sys.executable} -m uv"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def install(vset: VersionSet, venvs: Path) -> tuple[Path | None, dict[str, str], str]:
    """The set's environment, its installed versions, and (on failure) why it will not install."""
    uv = _uv().split()
    venv = venvs / vset.name
    python = venv / "bin" / "python"
    if vset.python not in PYTHONS:
        return None, {}, f"python = {vset.python!r}: not a Python of the axis ({', '.join(PYTHONS)})"
    if not python.exists():
        found = PYTHONS[vset.python].find()
        if found is None:
            return None, {}, PYTHONS[vset.python].missing.removesuffix(": skipped")
        made = subprocess.run(
            [*uv, "venv", "-q", "--python", str(found), str(venv)], capture_output=True, text=True
        )
        if made.returncode != 0:
            return None, {}, f"no Python {vset.python} environment: {_last_line(made.stderr)}"
    cmd = [
        *uv,
        "pip",
        "install",
        "-q",
        "--python",
        str(python),
        "--resolution",
        vset.resolution,
        *requirements(vset),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return None, {}, f"will not install on Python {vset.python}: {_last_line(done.stderr)}"
    # The tools resolve normally, within what the set's resolution installed.
    runners = tools()  # empty now that the package itself depends on pytest and pytest-xdist
    added = (
        subprocess.run(
            [
                *uv,
                "pip",
                "install",
                "-q",
                "--python",
                str(python),
                *runners,
                *(_constraints(python, venv) if vset.resolution != "highest" else []),
            ],
            capture_output=True,
            text=True,
        )
        if runners
        else None
    )
    if added is not None and added.returncode != 0:
        return None, {}, f"the suite's tools will not install beside it: {_last_line(added.stderr)}"
    versions = json.loads(
        subprocess.run([str(python), "-c", FREEZE], capture_output=True, text=True, check=True).stdout
    )
    return python, versions, ""


def _constraints(python: Path, venv: Path) -> list[str]:
    """Constraints that keep every installed release where the set's resolution put it."""
    versions = json.loads(
        subprocess.run([str(python), "-c", FREEZE], capture_output=True, text=True, check=True).stdout
    )
    path = venv / "constraints.txt"
    path.write_text("".join(f"{n}=={v}\n" for n, v in sorted(versions.items())))
    return ["--constraint", str(path)]


def measure(vset: VersionSet, python: Path) -> tuple[int, dict[str, Any], str]:
    report = python.parent.parent / "report.json"
    tier = "both" if set(vset.tiers) == {"contract", "semantics"} else vset.tiers[0]
    pairs = max(1, len(vset.frameworks) * len(vset.servers))
    cmd = [
        str(python),
        "-m",
        "conformance",
        "--tier",
        tier,
        "--report",
        str(report),
        "--no-docs",
        "--workers",
        "2" if pairs > 1 else "0",
    ]
    for name in vset.frameworks:
        cmd += ["--framework", name]
    for name in vset.servers:
        cmd += ["--server", name]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = python.parent.parent / "conformance.log"
    with log.open("w") as out:
        code = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    data = json.loads(report.read_text()) if report.exists() else {"versions": {}, "results": []}
    return code, data, str(log.relative_to(REPO)) if log.is_relative_to(REPO) else str(log)


def recheck(
    rows: list[dict[str, Any]],
    versions: dict[str, str],
    table: tuple[Change, ...] | None = None,
    cpus: int | None = None,
) -> list[str]:
    """Every semantics row again, against the change table at the recorded versions (rules such as
    `=min(32, cpus + 4)` for the measuring machine's `cpus`): what disagrees."""
    problems = []
    cpus = cpus or os.cpu_count() or 1
    for row in rows:
        if row["tier"] != "semantics" or row["property"] not in properties():
            continue
        steps = changes_for(row["property"], row["framework"], table, row["server"])
        if not steps:
            continue
        base = properties()[row["property"]].cell(row["framework"], row["server"])
        declared = at_releases(base, steps, versions)
        if declared is None:
            continue
        at = ", ".join(f"{p} {versions.get(p)}" for p in dict.fromkeys(s.package for s in steps))
        want = declared.unmeasured_reason if not declared.measured else declared.value
        if isinstance(want, str) and want.startswith("="):
            want = eval(want[1:], {"__builtins__": {"min": min, "max": max}}, {"cpus": cpus})
        if not declared.measured:
            if row["observed"] != want:
                problems.append(
                    f"{row['property']} [{row['framework']}]: declared {want!r}, reported {row['observed']!r}"
                )
        elif not _agrees(row["observed"], want, declared.tolerance):
            problems.append(
                f"{row['property']} [{row['framework']}-{row['server']}] at {at}: "
                f"declared {want!r}, observed {row['observed']!r}"
            )
        for key in dict.fromkeys(s.also for s in steps if s.also and declared.measured):
            if key in row and row[key] != declared.also.get(key):  # (older records kept the value only)
                problems.append(
                    f"{row['property']} [{row['framework']}-{row['server']}] at {at}: "
                    f"declared {key} {declared.also.get(key)!r}, observed {row.get(key)!r}"
                )
    return problems


def _agrees(observed: Any, want: Any, tolerance: float) -> bool:
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (observed, want))
    return abs(observed - want) <= tolerance + 1e-9 if numbers and tolerance else observed == want


def described(vset: VersionSet) -> dict[str, Any]:
    """What a set's entry in the report says of the set itself, measured or not."""
    return {
        "about": vset.about,
        "requirements": requirements(vset),
        "resolution": vset.resolution,
        "frameworks": list(vset.frameworks),
        "servers": list(vset.servers),
        "tiers": list(vset.tiers),
        "cpus": os.cpu_count(),
    }


def collected(vset: VersionSet, venvs: Path) -> dict[str, Any] | None:
    """A set's entry from the report its last measurement left in its environment, every row's
    verdict taken again from the declared tables as they are now: cells whose property has a
    declared history by the change table at the recorded versions, the others as recorded."""
    path = venvs / vset.name / "report.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    versions = {k: v for k, v in data.get("versions", {}).items() if v != "not installed"}
    rows = data.get("results", [])
    for row in rows:
        if row["tier"] == "semantics" and changes_for(row["property"], row["framework"], None, row["server"]):
            row["passed"] = not recheck([row], versions)
    shown = {p: versions[p] for p in SHOWN_PACKAGES if p in versions}
    failed = [r for r in rows if not r["passed"]]
    return {
        **described(vset),
        "status": "passed" if rows and not failed else "failed",
        "installed": shown,
        "recorded": round(path.stat().st_mtime),
        "results": rows,
        "recheck": [f"{r['property']} [{r['framework']}-{r['server']}]" for r in failed],
    }


def coverage(
    results: dict[str, dict[str, Any]], table: tuple[Change, ...] | None = None
) -> list[dict[str, Any]]:
    """For every declared change: the measured sets just before and at (or after) its release."""
    out = []
    for change in changes() if table is None else table:
        before: list[dict[str, Any]] = []
        after: list[dict[str, Any]] = []
        for name, result in results.items():
            version = result.get("installed", {}).get(change.package)
            if result.get("status") != "passed" or version is None:
                continue
            rows = [
                r
                for r in result["results"]
                if r["property"] == change.property
                and r["passed"]
                and r["framework"] in change.frameworks
                and (not change.servers or r["server"] in change.servers)
                and (not change.also or change.also in r)
            ]
            if not rows:
                continue
            side = before if Version(version) < Version(change.release) else after
            side.append(
                {
                    "set": name,
                    "version": version,
                    "framework": rows[0]["framework"],
                    "observed": rows[0][change.also] if change.also else rows[0]["observed"],
                }
            )
        nearest = {
            "before": max(before, key=lambda s: Version(s["version"]), default=None),
            "after": min(after, key=lambda s: Version(s["version"]), default=None),
        }
        out.append(
            {
                "property": change.property,
                "frameworks": list(change.frameworks),
                "package": change.package,
                "release": change.release,
                "source": change.source,
                **nearest,
                "observed": nearest["before"] is not None and nearest["after"] is not None,
            }
        )
    return out


def compact(report: dict[str, Any]) -> dict[str, Any]:
    """The report as committed beside docs/versions.md: each set's versions, result and semantics rows."""
    sets = {}
    for name, entry in report["sets"].items():
        rows = [
            {k: r.get(k) for k in (*ROW_KEYS, *r.get("also_expected", {}))}
            for r in entry.get("results", [])
            if r["tier"] == "semantics"
        ]
        kept = ("about", "status", "reason", "installed", "seconds", "cpus", "recorded")
        sets[name] = {k: entry[k] for k in kept if k in entry}
        sets[name] |= {"cells": len(entry.get("results", [])), "results": rows}
    return {
        "sets": sets,
        "skipped": report["skipped"],
        "changes": report["changes"],
        "seconds": report["seconds"],
        "collected": report.get("collected", False),
    }


def merged(measured: dict[str, Any], record: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """The committed record with the sets just measured in it (each replaces its old entry), in the
    order of `order` (the declared sets'), each declared change's coverage taken again over all."""
    sets = {**record["sets"], **measured["sets"]}
    sets = {n: sets[n] for n in sorted(sets, key=lambda n: order.index(n) if n in order else len(order))}
    skipped = {n: why for n, why in record.get("skipped", {}).items() if n not in measured["sets"]}
    merge = {"sets": sets, "skipped": skipped | measured["skipped"], "changes": coverage(sets)}
    return {**record, **merge, "seconds": measured.get("seconds", record.get("seconds"))}  # this run's


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.history",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "sets",
        nargs="*",
        help="set names from conformance/versions.toml (default: all but those with `own_run = true`)",
    )
    parser.add_argument("--ci", action="store_true", help="the sets named in [ci]")
    parser.add_argument("--report", default="reports/history.json")
    parser.add_argument(
        "--venvs", default=str(REPO / ".nox" / "history-sets"), help="where each set's environment is kept"
    )
    parser.add_argument("--jobs", type=int, default=2, help="sets measured at once (default 2)")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/versions.md")
    parser.add_argument("--sets-file", default=str(SETS), help=argparse.SUPPRESS)
    parser.add_argument(
        "--collect",
        action="store_true",
        help="measure nothing: assemble the report (and docs) from each set's last "
        "measurement, checked against the tables as they are now",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="put the sets measured into the committed record (docs/versions/observed.json, "
        "the other sets' entries kept) and render docs/versions.md from it",
    )
    args = parser.parse_args(argv)

    declared, ci = load_sets(Path(args.sets_file))
    names = ci if args.ci else (args.sets or [n for n, s in declared.items() if s.default])
    own_runs = [] if args.sets or args.ci else [n for n, s in declared.items() if not s.default]
    if own_runs:
        kept = ", ".join(own_runs)
        print(f"history: not measured here, kept from the committed record: {kept}", flush=True)
    skipped: dict[str, str] = {}
    for name in names:
        if name not in declared:
            skipped[name] = "unknown set (not in conformance/versions.toml)"
            print(
                f"history: {name}: unknown set (not in conformance/versions.toml); the others still run",
                flush=True,
            )
    chosen = [declared[n] for n in names if n in declared]
    report_path = REPO / args.report
    venvs = Path(args.venvs)
    venvs.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    started = time.monotonic()

    def run(index: int, vset: VersionSet) -> None:
        try:
            measured(index, vset)
        except Exception as error:  # one set's breakage is its own line; the others still run
            results[vset.name] = {
                "about": vset.about,
                "status": "failed",
                "installed": {},
                "results": [],
                "reason": f"{type(error).__name__}: {error}",
            }
            print(f"[{index}/{len(chosen)}] {vset.name}: FAILED: {type(error).__name__}: {error}", flush=True)

    def measured(index: int, vset: VersionSet) -> None:
        t0 = time.monotonic()
        python, versions, why = install(vset, venvs)
        entry: dict[str, Any] = described(vset)
        if python is None:
            entry |= {"status": "skipped", "reason": why, "installed": {}, "results": []}
            print(f"[{index}/{len(chosen)}] {vset.name}: skipped: {why}", flush=True)
        else:
            code, data, log = measure(vset, python)
            rows = data.get("results", [])
            problems = recheck(rows, versions)
            failed = [r for r in rows if not r["passed"]]
            status = "passed" if code == 0 and not failed and not problems and rows else "failed"
            shown = {p: versions[p] for p in SHOWN_PACKAGES if p in versions}
            entry |= {
                "status": status,
                "installed": shown,
                "seconds": round(time.monotonic() - t0),
                "log": log,
                "exit_code": code,
                "recheck": problems,
                "results": rows,
            }
            what = ", ".join(f"{p} {v}" for p, v in shown.items() if p in FRAMEWORKS_PACKAGES)
            print(
                f"[{index}/{len(chosen)}] {vset.name} ({what}): {len(rows)} cells, {len(failed)} mismatches"
                f"{'' if code == 0 else f', exit {code}'}{f', {len(problems)} recheck' if problems else ''}"
                f" ({round(time.monotonic() - t0)} s){'' if status == 'passed' else ' FAILED: see ' + log}",
                flush=True,
            )
            for r in failed[:10]:
                print(
                    f"    MISMATCH {r['property']} [{r['framework']}-{r['server']}]: expected "
                    f"{r['expected']!r}, observed {r['observed']!r}",
                    flush=True,
                )
        results[vset.name] = entry

    if args.collect:
        for index, vset in enumerate(chosen, 1):
            entry = collected(vset, venvs)
            if entry is None:
                skipped[vset.name] = "not measured yet (no report in its environment)"
                chosen = [c for c in chosen if c.name != vset.name]
                continue
            results[vset.name] = entry
            print(
                f"[{index}] {vset.name}: {len(entry['results'])} cells recorded, {entry['status']}"
                + (f": {', '.join(entry['recheck'])}" if entry["recheck"] else ""),
                flush=True,
            )
    else:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for future in [pool.submit(run, n, s) for n, s in enumerate(chosen, 1)]:
                future.result()

    results = {n.name: results[n.name] for n in chosen}
    for name, entry in results.items():
        if entry["status"] == "skipped":
            skipped[name] = entry["reason"]
    covered = coverage(results)
    full = not args.ci and Path(args.sets_file) == SETS and (args.collect or args.merge or not args.sets)
    missing = [c for c in covered if not c["observed"]]
    failed = [n for n, e in results.items() if e["status"] == "failed"]
    report = {
        "sets": results,
        "skipped": skipped,
        "changes": covered,
        "seconds": round(time.monotonic() - started),
        "collected": args.collect,
    }
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    observed = compact(report)
    if args.merge or (full and own_runs):
        observed = merged(observed, json.loads(OBSERVED.read_text(encoding="utf-8")), list(declared))
        covered = observed["changes"]
        missing = [c for c in covered if not c["observed"]]
    print(
        f"history: {len(results)} sets in {report['seconds']} s: "
        f"{sum(e['status'] == 'passed' for e in results.values())} passed, {len(failed)} failed, "
        f"{len(skipped)} skipped; {sum(c['observed'] for c in covered)}/{len(covered)} declared changes "
        f"observed on both sides; report: {args.report}",
        flush=True,
    )
    for name, why in skipped.items():
        print(f"    skipped {name}: {why}", flush=True)
    if full:
        for c in missing:
            print(
                f"    NOT OBSERVED {c['property']} ({c['package']} {c['release']}): no passing set "
                f"{'before' if c['before'] is None else 'at or after'} it",
                flush=True,
            )
    if full and not failed and not missing and not args.no_docs:
        from conformance.render import versions_page

        OBSERVED.parent.mkdir(parents=True, exist_ok=True)
        OBSERVED.write_text(json.dumps(observed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        page = REPO / "docs" / "versions.md"
        page.write_text(versions_page(observed), encoding="utf-8")
        print(f"docs: {page} (from {OBSERVED.relative_to(REPO)})", flush=True)
    if args.ci and skipped:  # CI's sets are there so the machinery cannot rot: one that did not run fails
        print("history: a set CI runs was skipped", flush=True)
        return 1
    return 1 if failed or (full and missing) else 0


if __name__ == "__main__":
    sys.exit(main())
