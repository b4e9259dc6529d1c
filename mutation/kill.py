"""The test command cosmic-ray runs for each mutant: the contract tier against one framework.

    python -m mutation.kill --framework fastapi --pristine DIR [--deadline 150]

Run from the mutated tree. The servers it starts import the mutant (they run from this
tree, as `shared.servers.REPO`); the suite itself imports the pristine copies of the
modules under mutation from `DIR`, so a mutated constant in `shared/spec.py` changes the
app and never the oracle the tests compare it with. Exit 0: every test passed (the mutant
survived); 1: a test failed, named on the last line (`killed by NODEID`); 3: the deadline
passed first (`timeout`); anything else is the machinery failing, never a kill.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from mutation.targets import CONTRACT_FILES, KILL_SERVER, PINNED_MODULES

__all__ = ["KILLED", "SURVIVED", "TIMEOUT", "main"]

SURVIVED, KILLED, TIMEOUT = 0, 1, 3
#: How long the suite has to finish its teardown (servers stopped by PID) after the deadline.
TEARDOWN_GRACE = 20


class FirstFailure:
    """A pytest plugin that remembers the running test and the first one that failed."""

    def __init__(self) -> None:
        self.running = ""
        self.failed: tuple[str, str, str] | None = None  # nodeid, phase, last line of the error

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.running = nodeid

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and self.failed is None:
            lines = report.longreprtext.strip().splitlines() or [""]
            self.failed = (report.nodeid, report.when, lines[-1][:200])


class Deadline(KeyboardInterrupt):
    """Raised in the main thread when the mutant's time is up: pytest tears down, as on Ctrl-C."""


def pin_pristine(pristine: Path) -> None:
    """Import the pristine copies of the mutated modules before any test module imports them."""
    for name in PINNED_MODULES:
        path = pristine / (name.replace(".", "/") + ".py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation.kill", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--framework", required=True)
    parser.add_argument("--edges-first", action="store_true", help="run the edge cases before the rest")
    parser.add_argument("--pristine", required=True, type=Path, help="an unmutated copy of the tree")
    parser.add_argument("--deadline", type=float, default=150.0,
                        help="seconds before the mutant counts as hung")
    args = parser.parse_args(argv)

    pin_pristine(args.pristine)
    watcher = FirstFailure()
    started = time.monotonic()

    def time_is_up(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGALRM, lambda *_: sys.exit(TIMEOUT))  # teardown hung too: leave
        signal.alarm(TEARDOWN_GRACE)
        raise Deadline

    # The contract tier needs no plugin but xdist (for its markers); the others' imports cost
    # seconds of start-up per mutant.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    signal.signal(signal.SIGALRM, time_is_up)
    signal.alarm(max(1, round(args.deadline)))
    files = [f for f in CONTRACT_FILES if Path(f).exists()]
    if args.edges_first:
        files.reverse()
    code = pytest.main([*files, "-x", "-q", "-p", "no:cacheprovider", "-p", "xdist.plugin",
                        "--framework", args.framework, "--server", KILL_SERVER], plugins=[watcher])
    signal.alarm(0)
    seconds = time.monotonic() - started
    if code == pytest.ExitCode.INTERRUPTED:
        print(f"mutation-kill: timeout after {seconds:.1f} s in {watcher.running}")
        return TIMEOUT
    if watcher.failed is not None:
        nodeid, phase, message = watcher.failed
        print(f"mutation-kill: killed by {nodeid} ({phase}) in {seconds:.1f} s: {message}")
        return KILLED
    if code == pytest.ExitCode.OK:
        print(f"mutation-kill: survived in {seconds:.1f} s")
        return SURVIVED
    print(f"mutation-kill: error: pytest exited {int(code)} with no failed test")
    return 4


if __name__ == "__main__":
    sys.exit(main())
