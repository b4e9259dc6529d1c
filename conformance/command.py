"""`afterward-conformance`: the contract tier on your own app, in your own environment.

    afterward-conformance --app notifier.main:app                 # every installed server
    afterward-conformance --app main:app --app-dir src --server uvicorn -- -x
    afterward-conformance --url http://127.0.0.1:8000 --log /tmp/app.log   # an app already running

The app is imported from `--app-dir` (default: the current directory) by real server
processes started with this interpreter, so it finds its own dependencies; the servers are
the ones installed here (`pip install 'afterward[uvicorn]'`, `[hypercorn]`). Prints the same
matrix and writes the same JSON report as `python -m conformance`; exits 0 when every
clause holds, 1 when one does not, 2 when the app cannot be tested at all (one line says why).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from conformance.extras import install_hint, missing
from conformance.options import Parser, add_target_options, workers
from shared.axes import PYTHONS
from shared.servers import APP_DIR_ENV, PYTHON_ENV, SERVERS

__all__ = ["SUITE_INI", "main"]

#: pytest's options for the suite, wherever it is installed (the user's project's own do not apply).
SUITE_INI = Path(__file__).with_name("suite.ini")
PLUGINS = ("conformance.fixtures", "conformance.plugin")


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="afterward-conformance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(parser)
    parser.add_argument(
        "--app-dir",
        default=".",
        metavar="DIR",
        help="the directory MODULE is imported from (default: the current directory)",
    )
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        choices=list(SERVERS),
        help="only these servers (default: every one installed here)",
    )
    parser.add_argument(
        "--report",
        default="afterward-conformance.json",
        help="where the JSON report goes (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=workers,
        help="pytest-xdist workers (default: 5 per app and server, at most 8: each of a pair's servers "
        "is a group of tests of its own)",
    )
    parser.add_argument(
        "--python",
        metavar="PYTHON",
        help="run the servers (and so the app) with this interpreter: a path, or a version of the axis "
        f"({', '.join(PYTHONS)}) found on PATH, among pyenv's builds or by uv; its environment must have "
        "the app's dependencies and the servers (default: this interpreter)",
    )
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (put them after --)")
    args = parser.parse_args(argv)
    if bool(args.app) == bool(args.url):
        parser.error("give --app MODULE:ATTR (an app to start) or --url URL (an app already running)")
    if args.url:
        from conformance.__main__ import main as run

        forward = ["--url", args.url, "--report", str(Path(args.report).resolve())] + ["--long"] * args.long
        forward += [
            a
            for option in ("log", "events", "smtp_port", "wait")
            if getattr(args, option) is not None
            for a in ("--" + option.replace("_", "-"), str(getattr(args, option)))
        ]
        suite = ["-c", str(SUITE_INI), *(a for plugin in PLUGINS for a in ("-p", plugin))]
        return run([*forward, "--", *suite, *args.pytest_args])

    def refuse(problem: str) -> int:
        print(f"afterward-conformance: {problem}", file=sys.stderr)
        return 2

    if args.python:
        interpreter = _interpreter(args.python)
        if isinstance(interpreter, str):
            return refuse(interpreter)
        os.environ[PYTHON_ENV] = str(interpreter)
    where = Path(args.app_dir).resolve()
    if not where.is_dir():
        return refuse(f"--app-dir {args.app_dir}: no such directory ({where})")
    absent = missing if not args.python else _absent_under(os.environ[PYTHON_ENV])
    if args.server:
        problem = next(filter(None, map(absent, args.server)), None)
        if problem:
            return refuse(problem)
    servers = args.server or [name for name in SERVERS if absent(name) is None]
    if not servers:
        return refuse(f"no server is installed here: {' or '.join(map(install_hint, SERVERS))}")
    os.environ[APP_DIR_ENV] = str(where)  # the servers' path and working directory, and pre-flight's

    from conformance.__main__ import main as run

    forward = ["--tier", "contract", "--no-docs", "--report", str(Path(args.report).resolve())]
    forward += ["--wait", str(args.wait)] + (["--smtp-port", str(args.smtp_port)] if args.smtp_port else [])
    forward += ["--workers", args.workers] if args.workers else []  # default: python -m conformance's
    forward += ["--long"] if args.long else []
    forward += [a for app in args.app for a in ("--app", app)]
    forward += [a for name in servers for a in ("--server", name)]
    suite = ["-c", str(SUITE_INI), *(a for plugin in PLUGINS for a in ("-p", plugin))]
    return run([*forward, "--", *suite, *args.pytest_args])


def _interpreter(text: str) -> Path | str:
    """The interpreter `--python` names, or the one line saying why there is none."""
    if text in PYTHONS:
        found = PYTHONS[text].find()
        return found if found is not None else PYTHONS[text].missing.removesuffix(": skipped")
    path = Path(text).expanduser()
    if not (path.is_file() and os.access(path, os.X_OK)):
        return (
            f"--python {text}: neither an interpreter (no such executable) "
            f"nor a Python of the axis ({', '.join(PYTHONS)})"
        )
    return path.resolve() if path.is_absolute() or "/" in text else path


def _absent_under(interpreter: str) -> Callable[[str], str | None]:
    """`missing` for another interpreter: its server's module must import there."""
    import subprocess

    def absent(server: str) -> str | None:
        module = SERVERS[server].command[0]
        probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
        if subprocess.run([interpreter, "-c", probe], capture_output=True).returncode != 0:
            return f"{server} is not installed for {interpreter} ({interpreter} -m {install_hint(server)})"
        return None

    return absent


if __name__ == "__main__":
    sys.exit(main())
