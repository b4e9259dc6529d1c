"""`python -m conformance`: run the suite on real servers, print the matrix, write the report.

python -m conformance                       # both tiers, 4 frameworks x 4 servers
python -m conformance --app pkg.module:app  # the contract tier against your own app
python -m conformance --url http://127.0.0.1:8000 --log /tmp/app.log  # an app already running
python -m conformance --framework quart --server hypercorn -- -x   # a subset; pytest args after --
python -m conformance --python 3.13         # on another Python of the axis (its own environment)
python -m conformance --app pkg.module:app --long   # also the 30-s default SMTP time-out (clause 9)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.address import current_python
from conformance.options import Parser, add_target_options, workers
from shared.axes import PYTHONS
from shared.servers import FRAMEWORKS, REPO, RUNNABLE, SERVERS


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="python -m conformance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(parser)
    parser.add_argument("--framework", action="append", default=[], choices=list(FRAMEWORKS))
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        choices=list(RUNNABLE),
        help="only these servers (default: every one of the axis); a process manager runs only when named "
        "(`nox -s managers`)",
    )
    parser.add_argument("--tier", choices=["contract", "semantics", "both"], default="both")
    parser.add_argument(
        "--python",
        choices=list(PYTHONS),
        help="run the suite and its servers on this Python, in an environment of its own made with uv "
        f"(default: the one running this; `nox -s pythons` runs {', '.join(PYTHONS)})",
    )
    parser.add_argument("--report", default="reports/conformance.json")
    parser.add_argument(
        "--no-docs",
        action="store_true",
        help="write no page (a green full run writes them all: `python -m pages`)",
    )
    parser.add_argument(
        "--workers",
        type=workers,
        help="pytest-xdist workers (default 8, or 5 per pair when fewer pairs are run: a pair's "
        "time is mostly waits, so more workers than cores, and its servers are 5 groups; 0 for none)",
    )
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (put them after --)")
    args = parser.parse_args(argv)
    if args.python and args.python != current_python():
        from conformance.pythons import reexec

        return reexec(args.python, _without_python(sys.argv[1:] if argv is None else argv))

    if args.workers is None:
        pairs = len(args.app or args.framework or FRAMEWORKS) * len(args.server or SERVERS)
        args.workers = str(min(8, 5 * pairs))
    if args.url and (args.app or args.framework or args.server or args.tier == "semantics"):
        parser.error(
            "--url runs the contract tier on the app at that URL alone: "
            "no --app, --framework, --server or --tier semantics with it"
        )
    if args.smtp_port is not None and not args.url:
        parser.error("--smtp-port goes with --url (otherwise every sink takes a free port of its own)")
    if args.url:
        smtp_port = 8025 if args.smtp_port is None else args.smtp_port
        preflight = [
            sys.executable,
            "-m",
            "conformance.preflight",
            "--url",
            args.url,
            "--smtp-port",
            str(smtp_port),
            "--wait",
            str(args.wait),
        ]
        preflight += [
            a
            for option in ("log", "events")
            if getattr(args, option)
            for a in (f"--{option}", str(Path(getattr(args, option)).resolve()))
        ]
        if subprocess.run(preflight, cwd=REPO).returncode != 0:
            return 2
    if args.app:  # one line for an app that cannot be tested at all, rather than a failure per test
        preflight = [sys.executable, "-m", "conformance.preflight", *args.app, "--wait", str(args.wait)]
        preflight += [a for name in args.server for a in ("--server", name)]
        if subprocess.run(preflight, cwd=REPO).returncode != 0:
            return 2
    tiers = (
        ["contract"]
        if args.app or args.url or args.tier == "contract"
        else (["semantics"] if args.tier == "semantics" else ["contract", "semantics"])
    )
    files = [str(REPO / "conformance" / f"test_{t}.py") for t in tiers]
    cmd = [*files, "-q", "-p", "no:cacheprovider", "--report", args.report]
    if args.url:  # one app, one sink on a fixed port: one process
        cmd += ["--url", args.url, "--smtp-port", str(smtp_port)]
        cmd += [
            a
            for option in ("log", "events")
            if getattr(args, option)
            for a in (f"--{option}", str(Path(getattr(args, option)).resolve()))
        ]
    # The suite needs no plugin but pytest-xdist: others installed beside it (hypothesis,
    # schemathesis, a project's own) would be loaded by every worker, a second of CPU each, and
    # could change how the suite runs.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    cmd += ["-p", "xdist.plugin"]  # also without workers: it declares the `xdist_group` mark
    if args.workers != "0" and not args.url:
        cmd += ["-n", args.workers, "--dist", "loadgroup"]
    for app in args.app:
        cmd += ["--app", app]
    if args.long:
        cmd += ["--long"]
    for name in args.framework:
        cmd += ["--framework", name]
    for name in args.server:
        cmd += ["--server", name]
    full = (
        not (args.app or args.url or args.framework or args.server or args.pytest_args or args.long)
        and args.tier == "both"
    )
    if full and not args.no_docs:
        cmd += ["--write-docs"]
    os.chdir(REPO)
    return int(pytest.main([*cmd, *args.pytest_args]))


def _without_python(argv: list[str]) -> list[str]:
    """The arguments less `--python X` (or `--python=X`), up to a `--` (pytest's from there)."""
    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if arg == "--":
            return out + argv[i:]
        if skip:
            skip = False
        elif arg == "--python":
            skip = True
        elif not arg.startswith("--python="):
            out.append(arg)
    return out


if __name__ == "__main__":
    sys.exit(main())
