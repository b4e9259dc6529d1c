"""`python -m conformance.managers`: the suite under process managers (`nox -s managers`).

    python -m conformance.managers                        # every manager, every framework
    python -m conformance.managers gunicorn               # some managers
    python -m conformance.managers --framework quart      # some frameworks
    python -m conformance.managers gunicorn -- -x         # after --: pytest's arguments

Each manager is a record of `shared.axes.MANAGERS`: two workers of a server of the axis, the
manager's own process receiving the signals, as under docker or Kubernetes. On each it runs the
contract tier whole and the semantics tier's properties of a deployment: the shutdown ones
(`sigterm_*`) and those of the manager itself (a property with `needs`: the request limit, a
blocked worker). The other semantics properties are each worker's, its server's; a manager cannot
change them, and they are not run again here. A cell is the server's unless
`conformance/expected.toml` names the manager. A full run (every manager, every framework, all
passed) writes the committed record `docs/managers/observed.json` and then every page.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from conformance.declared import properties
from shared.axes import FRAMEWORKS, MANAGERS
from shared.servers import REPO

__all__ = ["OBSERVED", "main", "selected"]

#: What a full run observed, committed.
OBSERVED = REPO / "docs" / "managers" / "observed.json"
KEEP = (
    "tier",
    "property",
    "framework",
    "server",
    "python",
    "expected",
    "observed",
    "passed",
    "also_expected",
)


def selected() -> list[str]:
    """The semantics properties of a deployment: the shutdown ones and the managers' own."""
    return [name for name, prop in properties().items() if name.startswith("sigterm_") or prop.needs]


def keyword() -> str:
    """pytest's `-k`: the contract tier (its module) and the selected semantics tests."""
    return " or ".join(["test_contract", *(f"test_{name}" for name in selected())])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.managers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "managers",
        nargs="*",
        metavar="MANAGER",
        help=f"the managers to run under (default: every one: {', '.join(MANAGERS)})",
    )
    parser.add_argument("--framework", action="append", default=[], choices=list(FRAMEWORKS))
    parser.add_argument("--report", default="reports/managers.json")
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    unknown = [m for m in args.managers if m not in MANAGERS]
    if unknown:
        parser.error(f"no manager {', '.join(unknown)} (known: {', '.join(MANAGERS)}; shared/axes.py)")
    chosen = args.managers or list(MANAGERS)
    frameworks = args.framework or list(FRAMEWORKS)
    print(
        f"== {len(chosen)} managers x {len(frameworks)} frameworks: the contract tier and "
        f"{len(selected())} semantics properties ({', '.join(selected())})",
        flush=True,
    )
    started = time.monotonic()
    from conformance.__main__ import main as conformance

    cwd = os.getcwd()
    report = Path(args.report).resolve()
    code = conformance(
        [
            *(a for m in chosen for a in ("--server", m)),
            *(a for f in frameworks for a in ("--framework", f)),
            "--report",
            str(report),
            "--no-docs",
            "--",
            "-k",
            keyword(),
            *extra,
        ]
    )
    os.chdir(cwd)
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    rows = data.get("results", [])
    bad = sum(not r["passed"] for r in rows)
    print(
        f"== {len(rows)} cells, {bad} mismatches, exit {code}, {time.monotonic() - started:.0f} s; "
        f"report: {report}"
    )
    full = set(chosen) == set(MANAGERS) and set(frameworks) == set(FRAMEWORKS) and not extra and code == 0
    if full and rows:
        out = {
            "versions": data.get("versions", {}),
            "cpus": os.cpu_count(),
            "results": [{k: r[k] for k in KEEP if k in r} for r in rows],
        }
        OBSERVED.parent.mkdir(parents=True, exist_ok=True)
        OBSERVED.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        from pages import write

        for path in write():
            print(f"docs: {path.relative_to(REPO)}")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
