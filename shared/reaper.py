"""`python -m shared.reaper`: stops the servers a process started, when that process dies first.

A `LiveServer` runs in a session of its own (so that a kill reaches its workers and nothing
else), which also keeps it out of the terminal's Ctrl-C and out of a signal sent to the
suite's process group. A test process that ends without its teardown (SIGTERM from a CI
time-out or `timeout`, SIGKILL, a crash) would leave its servers running. So each process
that starts servers starts one reaper too, in a session of its own, and tells it on its
standard input which servers are running: `+ PID` when one starts, `- PID` when it has
stopped. When that input ends, its writer is gone, however it ended: the reaper sends
SIGTERM to the process group of every server still listed (each leads its own group, and
that group holds only what the server started), waits up to `GRACE` seconds for each group
to empty, then sends SIGKILL. A process that stopped its servers leaves nothing listed.
"""

from __future__ import annotations

import os
import signal
import sys
import time

#: How long a server's group has to exit after SIGTERM before it gets SIGKILL.
GRACE = 5.0


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
