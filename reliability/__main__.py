"""`python -m reliability [--full] [pytest args]`: the reliability checks and their report."""

import importlib
import os
import sys

import pytest

import reliability
from shared.servers import REPO


def main() -> int:
    args = sys.argv[1:]
    full = "--full" in args
    args = [a for a in args if a != "--full"]
    os.environ["AFTERWARD_RELIABILITY"] = "full" if full else "quick"
    importlib.reload(reliability)  # `python -m` imported it before the line above set its sizes
    os.chdir(REPO)
    cmd = ["reliability", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup",
           "--report", "reports/reliability.json", "-o", "testpaths=reliability"]
    if full and not args:
        cmd += ["--write-docs", str(REPO / "docs" / "reliability.md")]
    return int(pytest.main([*cmd, *args]))


if __name__ == "__main__":
    sys.exit(main())
