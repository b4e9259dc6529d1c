"""`python -m conformance.flips`: the semantics tier proves it can fail.

Every measured cell of `conformance/expected.toml` has a wrong probe in
`conformance/flips.toml`: knobs that make the probe register or run its tasks otherwise,
or a server or framework setting that changes the behaviour. This runs the semantics tier
against each, and a cell counts as flipped only when the suite reports it as a mismatch
with a clean observation (not an error). A measured cell without a wrong probe, or one
that a run failed to flip, fails the run.

    python -m conformance.flips                  # every cell, once
    python -m conformance.flips --repeat 20      # ... and the timing ones 20 times
    python -m conformance.flips --sample         # one framework per server: CI's size
    python -m conformance.flips --managers       # under the process managers: their properties
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.address import current_python, pick
from conformance.declared import properties
from conformance.probes.tasks import KNOBS
from shared.axes import PYTHONS
from shared.servers import FRAMEWORKS, MANAGERS, REPO, SERVERS

__all__ = ["FLIPS", "Flip", "flip_for", "plan"]

FLIPS = Path(__file__).with_name("flips.toml")
#: The sample CI runs: every property on two pairs, both servers and both ways of running tasks.
SAMPLE = {("fastapi", "hypercorn"), ("quart", "uvicorn")}


@dataclass(frozen=True)
class Flip:
    knobs: tuple[str, ...] = ()
    server_args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    timing: bool = field(default=False, compare=False)  # one probe serves a flip's timing and other cells
    race: str = field(default="", compare=False)  # why this flip is known not to decide every time

    def tag(self) -> str:
        """A short id for test names: the knobs, or the setting."""
        return (
            "+".join(self.knobs)
            or "+".join(a.lstrip("-") for a in self.server_args)
            or "+".join(f"{k}={v}" for k, v in self.env)
        )

    def describe(self) -> str:
        parts = [f"knobs {','.join(self.knobs)}"] if self.knobs else []
        parts += [" ".join(self.server_args)] if self.server_args else []
        parts += [f"{k}={v}" for k, v in self.env]
        return "; ".join(parts)


def _load() -> dict[str, dict[str, Any]]:
    return tomllib.loads(FLIPS.read_text(encoding="utf-8"))


def flip_for(
    prop: str,
    framework: str,
    server: str,
    table: dict[str, dict[str, Any]] | None = None,
    python: str | None = None,
) -> Flip | None:
    """The wrong probe of one cell: the most specific address of the property's table that matches."""
    raw = pick((table or _load()).get(prop, {}), framework, server, python, where=f"{FLIPS.name} [{prop}]")
    if raw is None:
        return None
    unknown = set(raw.get("knobs", ())) - set(KNOBS)
    if unknown:
        raise ValueError(f"{FLIPS.name} [{prop}]: unknown knob(s) {', '.join(sorted(unknown))}")
    return Flip(
        tuple(raw.get("knobs", ())),
        tuple(raw.get("server_args", ())),
        tuple(sorted(raw.get("env", {}).items())),
        bool(raw.get("timing", False)),
        raw.get("race", ""),
    )


Cell = tuple[str, str, str]  # property, framework, server


def plan(
    pairs: list[tuple[str, str]], only: list[str] | None = None
) -> tuple[dict[Flip, list[Cell]], list[Cell]]:
    """Measured cells grouped by the wrong probe that flips them, and the cells that have none;
    `only`: of these properties."""
    table = _load()
    unknown = set(table) - set(properties())
    if unknown:
        raise ValueError(f"{FLIPS.name}: no such property {', '.join(sorted(unknown))}")
    groups: dict[Flip, list[Cell]] = defaultdict(list)
    missing = []
    for prop in properties().values():
        if only is not None and prop.name not in only:
            continue
        for framework, server in pairs:
            declared = prop.cell(framework, server, current_python())
            if declared is None or not declared.measured:
                continue
            flip = flip_for(prop.name, framework, server, table, current_python())
            if flip is None:
                missing.append((prop.name, framework, server))
            else:
                groups[flip].append((prop.name, framework, server))
    return groups, missing


def outcome(row: dict[str, Any]) -> str:
    if row["passed"]:
        return f"agreed ({row['observed']!r})"
    if isinstance(row["observed"], str) and row["observed"].startswith("error"):
        return row["observed"][:200]
    return "flipped"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.flips",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each timing flip (default 1)")
    parser.add_argument(
        "--sample",
        action="store_true",
        help="only the pairs CI runs: " + ", ".join(f"{f}-{s}" for f, s in sorted(SAMPLE)),
    )
    parser.add_argument("--framework", action="append", default=[], choices=list(FRAMEWORKS))
    parser.add_argument("--server", action="append", default=[], choices=list(SERVERS))
    parser.add_argument(
        "--managers",
        action="store_true",
        help="under the process managers instead, their properties (conformance.managers)",
    )
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "flips.json")
    parser.add_argument(
        "--python", choices=list(PYTHONS), help="on this Python's environment (conformance.pythons)"
    )
    args = parser.parse_args(argv)
    if args.python and args.python != current_python():
        from conformance.__main__ import _without_python
        from conformance.pythons import reexec

        return reexec(
            args.python, _without_python(sys.argv[1:] if argv is None else argv), "conformance.flips"
        )
    pairs = [
        (f, s)
        for f in args.framework or FRAMEWORKS
        for s in args.server or (MANAGERS if args.managers else SERVERS)
        if not args.sample or (f, s) in SAMPLE
    ]
    from conformance.managers import keyword, selected

    groups, missing = plan(pairs, selected() if args.managers else None)
    started = time.monotonic()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="afterward-flips-") as tmp:
        # One run per framework with that framework's servers: the pairs asked for, no more.
        for framework in sorted({f for f, _ in pairs}):
            raw = Path(tmp) / f"{framework}.json"
            cmd = [
                sys.executable,
                "-m",
                "conformance",
                "--tier",
                "semantics",
                "--report",
                str(raw),
                "--framework",
                framework,
            ]
            cmd += [a for s in sorted({s for f, s in pairs if f == framework}) for a in ("--server", s)]
            cmd += ["--", "--flips", f"--repeat={args.repeat}", *(["-k", keyword()] if args.managers else [])]
            subprocess.run(cmd, cwd=REPO, timeout=3600)  # its progress lines go straight to the terminal
            rows += json.loads(raw.read_text())["results"] if raw.exists() else []
    outcomes: dict[Cell, list[str]] = defaultdict(list)
    for row in rows:
        if "flip" in row:
            outcomes[row["property"], row["framework"], row["server"]].append(outcome(row))
    wanted = [(p, f, s, flip) for flip, cells in groups.items() for (p, f, s) in cells if (f, s) in pairs]
    cells_out: list[dict[str, Any]] = sorted(
        (
            {
                "property": p,
                "framework": f,
                "server": s,
                "flip": flip.describe(),
                "timing": flip.timing,
                "race": flip.race,
                "runs": len(outcomes[p, f, s]),
                "flipped": outcomes[p, f, s].count("flipped"),
                "other": sorted({o for o in outcomes[p, f, s] if o != "flipped"}),
            }
            for p, f, s, flip in wanted
        ),
        key=lambda c: (c["property"], c["framework"], c["server"]),
    )
    failed = [c for c in cells_out if c["runs"] == 0 or c["flipped"] != c["runs"] and not c["race"]]
    racy = [c for c in cells_out if c["race"] and c["runs"]]
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(
        json.dumps(
            {
                "repeat": args.repeat,
                "cells": cells_out,
                "without_wrong_probe": [list(m) for m in missing],
                "seconds": round(time.monotonic() - started),
            },
            indent=1,
        )
        + "\n"
    )
    for p, f, s in missing:
        print(f"NO WRONG PROBE {p} [{f}-{s}]: add one to {FLIPS.name}, or declare it by construction")
    for c in failed:
        print(
            f"NOT FLIPPED EVERY TIME {c['property']} [{c['framework']}-{c['server']}]: "
            f"{c['flipped']}/{c['runs']} ({c['flip']}) {'; '.join(c['other'])}"
        )
    for c in racy:
        print(
            f"KNOWN RACE {c['property']} [{c['framework']}-{c['server']}]: "
            f"flipped {c['flipped']}/{c['runs']} "
            f"({c['flip']}): {c['race']}"
        )
    print(
        f"{len(cells_out) - len(failed) - len(racy)}/{len(cells_out)} cells flipped every time "
        f"({sum(c['runs'] for c in cells_out)} runs, {time.monotonic() - started:.0f} s); "
        f"{len(racy)} with a known race; {len(missing)} without a wrong probe; report: {args.report}"
    )
    return 1 if failed or missing else 0


if __name__ == "__main__":
    sys.exit(main())
