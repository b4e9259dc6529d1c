"""Before a run on a user's app: one clear line for each way it cannot be tested, not 20 errors.

The app is imported in a child process with the same path the servers get (the apps'
directory, `shared.servers.app_dir()`, and `PYTHONPATH`), then started once under each
server; what went wrong is said in one line (naming the server's log for a server that did
not come up), and the run exits 2.
`python -m conformance` runs this module as a child process of its own, so that nothing it
imports (httpx, anyio) is loaded before pytest, which must rewrite its plugins' asserts.

    python -m conformance.preflight --server uvicorn mypackage.main:app
    python -m conformance.preflight --url http://127.0.0.1:8000 --log /tmp/app.log
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from shared.servers import SERVERS, LiveServer, ServerFailed, app_dir

__all__ = ["check_app", "check_ready", "check_url", "main"]

#: Imports `module:attr` and says, as JSON, what it found.
_PROBE = """
import importlib, inspect, json, os, sys
module, _, attr = sys.argv[1].partition(":")
try:
    found = importlib.import_module(module)
except BaseException as error:
    own = [os.path.abspath(p) for p in sys.path if not p.startswith((sys.base_prefix, sys.prefix))]
    print(json.dumps({"problem": "import", "error": f"{type(error).__name__}: {error}",
                      "path": list(dict.fromkeys(own))}))
    raise SystemExit
app = found
for part in attr.split("."):
    if not hasattr(app, part):
        print(json.dumps({"problem": "attr", "error": f"module {module!r} has no attribute {part!r}",
                          "names": sorted(n for n in dir(found) if not n.startswith("_"))[:20]}))
        raise SystemExit
    app = getattr(app, part)
call = app if inspect.isroutine(app) else getattr(app, "__call__", None)
try:
    params = [p for p in inspect.signature(call).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)] if call else []
except (TypeError, ValueError):
    params = [None] * 3
if call is None or not inspect.iscoroutinefunction(call) and len(params) != 3:
    print(json.dumps({"problem": "asgi", "error": f"{type(app).__name__} object"}))
else:
    print(json.dumps({"problem": None}))
"""


def check_app(app: str) -> str | None:
    """None when `app` imports to something that looks like an ASGI app; else the one-line problem."""
    env = {**os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(app_dir()), env.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, app],
        cwd=app_dir(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        found = json.loads(run.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return (
            f"--app {app}: importing it ended the interpreter ({run.returncode}): {run.stderr.strip()[-300:]}"
        )
    if found["problem"] == "import":
        where = ", ".join(found["path"])
        return (
            f"--app {app}: cannot import it ({found['error']}); "
            f"looked in {where} (and the installed packages)"
        )
    if found["problem"] == "attr":
        return f"--app {app}: {found['error']} (it has: {', '.join(found['names']) or 'nothing public'})"
    if found["problem"] == "asgi":
        return (
            f"--app {app}: {found['error']} is not an ASGI app "
            "(an async callable taking scope, receive, send)"
        )
    return None


def check_ready(app: str, server: str, timeout: float = 30.0) -> str | None:
    """None when `app` answers `GET /health` 200 under `server`; else the one-line problem."""
    log = Path(tempfile.mkdtemp(prefix="afterward-preflight-")) / "server.log"
    try:
        LiveServer(app, server, log_path=log, ready_timeout=timeout).start().stop()
    except ServerFailed as error:
        first = str(error).splitlines()[0]
        said = first[first.find(" not ready") :] if " not ready" in first else first[first.find(" exited") :]
        return f"--app {app} under {server}:{said} (server log: {log})"
    return None


def configuration(smtp_port: int, log: str | None, events: str | None) -> str:
    """What an app started by hand must be told, in the shell's words."""
    lines = ["AFTERWARD_SMTP_HOST=127.0.0.1", f"AFTERWARD_SMTP_PORT={smtp_port}"]
    lines.append(
        f"AFTERWARD_LOG_PATH={log}"
        if log
        else "AFTERWARD_LOG_PATH=...   (give the same path with --log, or the log checks are n/a)"
    )
    lines.append(
        f"AFTERWARD_EVENTS={events}"
        if events
        else "AFTERWARD_EVENTS=...     (give the same path with --events, or the event checks are n/a)"
    )
    return "\n".join(f"    {line}" for line in lines)


def check_url(url: str, smtp_port: int, wait: float) -> str | None:
    """None when the sink's port is free and `url` answers `GET /health` 200 within `wait` s."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--url {url}: expected an http:// or https:// URL, e.g. http://127.0.0.1:8000"
    try:
        with socket.create_server(("127.0.0.1", smtp_port)):
            pass
    except OSError as error:
        return (
            f"--smtp-port {smtp_port}: cannot listen on 127.0.0.1:{smtp_port} for the SMTP sink "
            f"({error.strerror or error}); free it or pick another port with --smtp-port"
        )
    deadline, last = time.monotonic() + wait, "nothing (no connection yet)"
    while True:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=2) as answer:
                if answer.status == 200:
                    return None
                last = f"{answer.status}"
        except urllib.error.HTTPError as error:
            last = f"{error.code} {error.read(120)!r}"
        except (OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            last = f"no answer ({reason})"
        if time.monotonic() > deadline:
            return f"--url {url}: GET /health did not answer 200 within {wait:g} s; last: {last}"
        time.sleep(0.2)  # readiness polling, not test synchronisation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.preflight",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--server", action="append", default=[], choices=list(SERVERS))
    parser.add_argument("--url", help="an app already running: wait for it instead of starting one")
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--log")
    parser.add_argument("--events")
    parser.add_argument("--wait", type=float, default=30.0)
    parser.add_argument("app", nargs="*", metavar="MODULE:ATTR")
    args = parser.parse_args(argv)
    if args.url:
        print(
            f"Checking the app at {args.url} against shared/SPEC.md's contract. Start it (in another "
            f"terminal) with:\n{configuration(args.smtp_port, args.log, args.events)}\n"
            f"Waiting up to {args.wait:g} s for GET {args.url.rstrip('/')}/health to answer 200 ...",
            flush=True,
        )
        problem = check_url(args.url, args.smtp_port, args.wait)
        if problem:
            print(problem, file=sys.stderr)
        return 2 if problem else 0
    problems = [p for app in args.app for p in [check_app(app)] if p]
    if not problems:  # an app that imports must also come up, once, under each server
        problems = [
            p
            for app in args.app
            for s in args.server or SERVERS
            for p in [check_ready(app, s, args.wait)]
            if p
        ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
