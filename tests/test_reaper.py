"""A process that dies without stopping its servers (SIGKILL, a CI time-out's SIGTERM) leaves
none behind: its reaper (shared/reaper.py) stops them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.servers import REPO

STARTS_A_SERVER = """
import sys
from pathlib import Path
from shared.servers import LiveServer
server = LiveServer("tests.byo.notify_app:app", "uvicorn", log_path=Path(sys.argv[1])).start()
print(server.proc.pid, flush=True)
sys.stdin.read()  # until this process is killed
"""


def gone(pid: int) -> bool:
    """No such process, or a zombie nobody has reaped yet (it serves nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)  # polling for a process that is not ours to wait on, with a deadline
    return True


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_servers_of_a_process_that_dies_are_stopped(sig: int, tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", STARTS_A_SERVER, str(tmp_path / "server.log")], cwd=REPO,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as owner:
        server = int(owner.stdout.readline())  # type: ignore[union-attr]
        try:
            assert not gone(server)
            owner.send_signal(sig)
            owner.wait(10)
            assert wait_gone(server, 15), f"server {server} outlived the process that started it"
        finally:
            if not gone(server):
                os.killpg(server, signal.SIGKILL)  # the group our owner process gave it: ours


def test_the_reaper_stops_what_is_listed_and_nothing_else() -> None:
    """At the end of its input, the reaper stops each group still listed (SIGTERM), and never
    one it was told has stopped: that group's id may belong to someone else by then."""
    waiting = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    listed, forgotten = (subprocess.Popen(waiting, stdin=subprocess.PIPE, start_new_session=True)
                         for _ in range(2))
    try:
        reaper = subprocess.Popen([sys.executable, "-m", "shared.reaper"], cwd=REPO, stdin=subprocess.PIPE,
                                  text=True)
        assert reaper.stdin is not None
        reaper.stdin.write(f"+ {listed.pid}\n+ {forgotten.pid}\n- {forgotten.pid}\n")
        reaper.stdin.close()  # its writer is done
        assert listed.wait(10) == -signal.SIGTERM  # reaped here: the reaper sees the group empty
        assert reaper.wait(30) == 0
        assert forgotten.poll() is None, "the reaper stopped a group it had been told was gone"
    finally:
        for proc in (listed, forgotten):
            proc.kill()
            proc.wait(10)
            proc.stdin.close()  # type: ignore[union-attr]
