"""`python -m conformance`: run the suite on real servers, print the matrix, write the report.

    python -m conformance                       # both tiers, 4 frameworks x 2 servers
    python -m conformance --app pkg.module:app  # the contract tier against your own app
    python -m conformance --framework quart --server hypercorn -- -x   # a subset; pytest args after --
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from shared.servers import FRAMEWORKS, REPO, SERVERS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", action="append", default=[], metavar="MODULE:ATTR",
                        help="an ASGI app implementing shared/SPEC.md; runs the contract tier on it")
    parser.add_argument("--framework", action="append", default=[], choices=list(FRAMEWORKS))
    parser.add_argument("--server", action="append", default=[], choices=list(SERVERS))
    parser.add_argument("--tier", choices=["contract", "semantics", "both"], default="both")
    parser.add_argument("--report", default="reports/conformance.json")
    parser.add_argument("--no-docs", action="store_true", help="skip docs/semantics.md and README's table")
    parser.add_argument("--workers", default="2", help="pytest-xdist workers (default 2; 0 for none)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (put them after --)")
    args = parser.parse_args(argv)

    for app in args.app:
        if ":" not in app:
            parser.error(f"--app {app!r}: expected MODULE:ATTR, e.g. myproject.main:app")
    if args.app:  # one line for an app that cannot be tested at all, rather than a failure per test
        preflight = [sys.executable, "-m", "conformance.preflight", *args.app]
        preflight += [a for name in args.server for a in ("--server", name)]
        if subprocess.run(preflight, cwd=REPO).returncode != 0:
            return 2
    tiers = ["contract"] if args.app or args.tier == "contract" else (
        ["semantics"] if args.tier == "semantics" else ["contract", "semantics"])
    files = [str(REPO / "conformance" / f"test_{t}.py") for t in tiers]
    if "contract" in tiers:  # the contract's edge cases, which mutation testing found unchecked
        files.insert(1, str(REPO / "conformance" / "test_contract_edges.py"))
    cmd = [*files, "-q", "-p", "no:cacheprovider", "--report", args.report]
    if args.workers != "0":
        cmd += ["-n", args.workers, "--dist", "loadgroup"]
    for app in args.app:
        cmd += ["--app", app]
    for name in args.framework:
        cmd += ["--framework", name]
    for name in args.server:
        cmd += ["--server", name]
    full = not (args.app or args.framework or args.server or args.pytest_args) and args.tier == "both"
    if full and not args.no_docs:
        cmd += ["--write-docs", str(REPO / "docs" / "semantics.md")]
    os.chdir(REPO)
    return int(pytest.main([*cmd, *args.pytest_args]))


if __name__ == "__main__":
    sys.exit(main())
