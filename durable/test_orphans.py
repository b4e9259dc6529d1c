"""A process that dies without stopping its durable stack (SIGKILL, a CI time-out's SIGTERM) leaves
no Redis and no Celery worker behind: they are watched by its reaper (shared/reaper.py), as its
servers are."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from shared.servers import REPO
from tests.test_reaper import gone, wait_gone

STARTS_A_STACK = """
import sys
from pathlib import Path
from durable.stack import Stack
stack = Stack("frameworks.fastapi_durable_app:app", "uvicorn", 8025, Path(sys.argv[1])).start(web=False)
print(stack.redis.proc.pid, *(w.proc.pid for w in stack.running), flush=True)
sys.stdin.read()  # until this process is killed
"""


def test_a_stack_whose_owner_is_killed_is_stopped(tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", STARTS_A_STACK, str(tmp_path)], cwd=REPO,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as owner:
        pids = [int(p) for p in owner.stdout.readline().split()]  # type: ignore[union-attr]
        try:
            assert len(pids) == 2 and not any(map(gone, pids)), pids
            owner.send_signal(signal.SIGKILL)
            owner.wait(10)
            left = [pid for pid in pids if not wait_gone(pid, 30)]
            assert not left, f"Redis and worker {pids}: {left} outlived the process that started them"
        finally:
            for pid in pids:
                if not gone(pid):
                    os.killpg(pid, signal.SIGKILL)  # the groups our owner process gave them: ours
