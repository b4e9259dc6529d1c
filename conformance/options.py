"""The options `python -m conformance` and `afterward-conformance` share: which app, and how to reach it."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

__all__ = ["WAIT", "Parser", "add_target_options", "workers"]

#: Seconds to wait for GET /health to answer 200, unless `--wait` says otherwise.
WAIT = 30.0


class Parser(argparse.ArgumentParser):
    """Bad use is one line on stderr and exit code 2, without the usage text above it."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def app_ref(text: str) -> str:
    module, _, attr = text.partition(":")
    if not (module and attr):
        raise argparse.ArgumentTypeError(f"{text!r}: expected MODULE:ATTR, e.g. myproject.main:app")
    return text


def http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected an http:// or https:// URL, e.g. http://127.0.0.1:8000"
        )
    return text


def port(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a TCP port, 1 to 65535")
    return number


def seconds(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not number > 0:  # also NaN
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of seconds above 0")
    return number


def workers(text: str) -> str:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of workers, 0 (none) or more")
    return str(int(text))


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--app",
        action="append",
        default=[],
        type=app_ref,
        metavar="MODULE:ATTR",
        help="an ASGI app implementing the spec (shared/SPEC.md); runs the contract tier on it; repeatable",
    )
    parser.add_argument(
        "--url",
        type=http_url,
        help="instead of --app: the contract tier against an app already running at this URL (any "
        "language, any server); the suite prints what to configure and waits for it",
    )
    parser.add_argument("--log", metavar="PATH", help="with --url: the app's AFTERWARD_LOG_PATH")
    parser.add_argument("--events", metavar="PATH", help="with --url: the app's AFTERWARD_EVENTS")
    parser.add_argument(
        "--smtp-port",
        type=port,
        metavar="PORT",
        help="the SMTP sink's port (default: a free one; with --url 8025)",
    )
    parser.add_argument(
        "--long",
        action="store_true",
        help="also the checks that wait out a default of clause 9: the 30-s SMTP time-out (a 30-s wait "
        "per app and server, beside the others)",
    )
    parser.add_argument(
        "--wait",
        type=seconds,
        default=WAIT,
        metavar="SECONDS",
        help=f"how long to wait for GET /health to answer 200 (default {WAIT:g}): the app at --url, "
        "or each --app under each server before the run",
    )
