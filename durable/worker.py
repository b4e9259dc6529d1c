"""A Celery worker as a child process: `celery -A durable.tasks worker`, killed by process group.

The worker is a process group of its own (the main process and its prefork pool), so a
SIGKILL reaches the pool processes mid-delivery too, and nothing this code did not start.
Ready when its log says so (Celery prints `ready.` once it consumes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from shared import reaper
from shared.servers import REPO, process_tree

__all__ = ["Worker"]


class Worker:
    def __init__(self, env: Mapping[str, str], log_path: Path, concurrency: int = 4,
                 ready_timeout: float = 60.0, name: str = "w1", app: str = "durable.tasks",
                 unset: Sequence[str] = ()) -> None:
        self.app = app
        self.unset = tuple(unset)  # variables of this process's environment the worker must not see
        self.env = dict(env)
        self.log_path = log_path
        self.concurrency = concurrency
        self.ready_timeout = ready_timeout
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", self.app, "worker", "--pool", "prefork",
                "--concurrency", str(self.concurrency), "--loglevel", "INFO", "--without-gossip",
                "--without-mingle", "--without-heartbeat", "--hostname", f"{self.name}@%h"]

    def start(self) -> Worker:
        env = {**{k: v for k, v in os.environ.items() if k not in self.unset}, **self.env,
               "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(self.command(), env=env, cwd=REPO, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        reaper.watch(self.proc.pid)  # stopped even if this process dies first
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.proc.returncode}:\n{self.log_tail()}")
            if b" ready." in self.log_path.read_bytes()[start:]:
                return self
            time.sleep(0.05)  # readiness polling
        self.kill()
        raise RuntimeError(f"the worker was not ready within {self.ready_timeout:g} s:\n{self.log_tail()}")

    def pids(self) -> list[int]:
        """The worker's main process and its descendants (the prefork pool's processes)."""
        return [] if self.proc is None else process_tree(self.proc.pid)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL to the worker's process group: the main process and its pool at once."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        reaper.forget(self.proc.pid)

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM: Celery's warm shutdown finishes the tasks it runs, then exits."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()
        reaper.forget(self.proc.pid)
