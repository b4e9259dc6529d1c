"""The options `python -m conformance` and `afterward-conformance` share: which app, and how to reach it."""

from __future__ import annotations

import argparse

__all__ = ["WAIT", "add_target_options"]

#: Seconds to wait for GET /health to answer 200, unless `--wait` says otherwise.
WAIT = 30.0


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--app",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="an ASGI app implementing the spec (shared/SPEC.md); runs the contract tier on it; repeatable",
    )
    parser.add_argument(
        "--url",
        help="instead of --app: the contract tier against an app already running at this URL (any "
        "language, any server); the suite prints what to configure and waits for it",
    )
    parser.add_argument("--log", metavar="PATH", help="with --url: the app's AFTERWARD_LOG_PATH")
    parser.add_argument("--events", metavar="PATH", help="with --url: the app's AFTERWARD_EVENTS")
    parser.add_argument(
        "--smtp-port",
        type=int,
        metavar="PORT",
        help="the SMTP sink's port (default: a free one; with --url 8025)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=WAIT,
        metavar="SECONDS",
        help=f"how long to wait for GET /health to answer 200 (default {WAIT:g}): the app at --url, "
        "or each --app under each server before the run",
    )
