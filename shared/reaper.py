"""`python -m shared.reaper`: stops the processes a test process started, when it dies first.

A `LiveServer`, and the durable stack's Redis and Celery worker, each run in a session of its
own (so that a kill reaches the workers it spawns and nothing else), which also keeps them out
of the terminal's Ctrl-C and out of a signal sent to the suite's process group. A test process
that ends without its teardown (SIGTERM from a CI time-out or `timeout`, SIGKILL, a crash) would
leave them running. So each process that starts them starts one reaper too, in a session of its
own, and tells it on its standard input what is running (`watch(pid)` writes `+ PID` when one
starts, `forget(pid)` writes `- PID` once it has exited). When that input ends, its writer is
gone, however it ended: the reaper sends SIGTERM to the process group of every process still
listed (each leads its own group, and that group holds only what it started), waits up to
`GRACE` seconds for each group to empty, then sends SIGKILL. A process that stopped what it
started leaves nothing listed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

__all__ = ["GRACE", "forget", "reap", "watch"]

#: How long a server's group has to exit after SIGTERM before it gets SIGKILL.
GRACE = 5.0


#: This process's reaper, and the process it serves: a fork gets its own.
_reaper: tuple[int, subprocess.Popen[bytes]] | None = None
_lock = threading.Lock()


def watch(pid: int) -> None:
    """`pid` leads a process group of its own that this process started: stop it if this process
    ends without `forget(pid)`."""
    _tell(f"+ {pid}")


def forget(pid: int) -> None:
    """The group `pid` led has been stopped (or was never watched)."""
    _tell(f"- {pid}")


def _tell(line: str) -> None:
    global _reaper
    with _lock:
        if _reaper is None or _reaper[0] != os.getpid():
            if line.startswith("-"):  # this process never told one of a start
                return
            reaper = subprocess.Popen(
                [sys.executable, "-m", "shared.reaper"],
                stdin=subprocess.PIPE,
                cwd=Path(__file__).resolve().parent.parent,  # where `shared` is importable from
                start_new_session=True,  # out of reach of the Ctrl-C or signal that ends this process
            )
            _reaper = (os.getpid(), reaper)
        stdin = _reaper[1].stdin
        assert stdin is not None
        try:
            stdin.write(f"{line}\n".encode())
            stdin.flush()
        except BrokenPipeError:  # the reaper is gone: nothing to tell
            pass


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the group's id was reused by someone else's process: not ours
        return False
    return True


def reap(groups: set[int], grace: float = GRACE) -> None:
    for group in sorted(groups):
        try:
            os.killpg(group, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    while any(_alive(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.05)  # processes this one did not start: no wait() to block on
    for group in sorted(groups):
        if _alive(group):
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the end of its input stops it
    running: set[int] = set()
    for line in sys.stdin:
        verb, _, pid = line.strip().partition(" ")
        if verb == "+":
            running.add(int(pid))
        elif verb == "-":
            running.discard(int(pid))
    reap(running)
    return 0


if __name__ == "__main__":
    sys.exit(main())
