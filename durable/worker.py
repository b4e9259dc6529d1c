"""An engine's worker as a child process (`celery -A durable.tasks worker`, `arq ...`, `dramatiq
...`, `taskiq worker ...`: shared/axes.py's `ENGINES`), killed by process group.

The worker is a process group of its own (the main process and its pool, Celery's prefork or
Dramatiq's and taskiq's worker processes), so a SIGKILL reaches the processes mid-delivery too,
and nothing this code did not start.
A SIGTERM goes to the main process (as a container runtime sends it to PID 1) or to the
whole group (as systemd's default `KillMode=control-group` does). Ready when its log says
so (each engine's `ready` line: Celery prints `ready.` once it consumes).
"""

from __future__ import annotations

import functools
import operator
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from durable.delivery import ENGINE_ENV
from shared import reaper
from shared.axes import DEFAULT_ENGINE, Engine
from shared.servers import REPO, process_tree

__all__ = ["Worker"]


def _pending(pid: int) -> int:
    """The signals pending for `pid` (its threads' and its own), 0 once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    masks = [line.split()[1] for line in status.splitlines() if line.startswith(("SigPnd:", "ShdPnd:"))]
    return functools.reduce(operator.or_, (int(m, 16) for m in masks), 0)


class Worker:
    def __init__(self, env: Mapping[str, str], log_path: Path, concurrency: int = 4,
                 ready_timeout: float = 60.0, name: str = "w1", app: str = "",
                 unset: Sequence[str] = (), engine: Engine = DEFAULT_ENGINE) -> None:
        self.engine = engine
        self.app = app  # the module the worker loads, when not the engine's own
        self.unset = tuple(unset)  # variables of this process's environment the worker must not see
        self.env = dict(env)
        self.log_path = log_path
        self.concurrency = concurrency
        self.ready_timeout = ready_timeout
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_start = 0  # where this run's lines begin in the log

    def command(self) -> list[str]:
        return [sys.executable, "-m", *self.engine.worker_command(self.concurrency, self.name, self.app)]

    def start(self) -> Worker:
        env = {**{k: v for k, v in os.environ.items() if k not in self.unset}, **self.env,
               ENGINE_ENV: self.engine.name, "AFTERWARD_WORKER_CONCURRENCY": str(self.concurrency),
               "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(self.command(), env=env, cwd=REPO, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        reaper.watch(self.proc.pid)  # stopped even if this process dies first
        try:
            self.wait_logged(self.engine.ready, self.ready_timeout)
        except RuntimeError:
            self.kill()
            raise
        return self

    def wait_logged(self, text: str, timeout: float) -> None:
        """Until this run's log has `text` (the engine's `ready` line, Celery's `Warm shutdown`), polled."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while text.encode() not in self.log_path.read_bytes()[self._log_start:]:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.proc.returncode} before it logged "
                                   f"{text!r}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not log {text!r} within {timeout:g} s:\n"
                                   f"{self.log_tail()}")
            time.sleep(0.05)  # polling for a line that must come

    def pids(self) -> list[int]:
        """The worker's main process and its descendants (the prefork pool's processes)."""
        return [] if self.proc is None else process_tree(self.proc.pid)

    def signal(self, sig: int, group: bool = False) -> None:
        """`sig` to the main process, or to every process of the worker at once; no waiting."""
        assert self.proc is not None
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)

    def wait_settled(self, sig: int, pids: Sequence[int], timeout: float = 10.0) -> None:
        """Until `sig` is pending in none of `pids`: each has exited, ignored it or run its handler
        (/proc/PID/status, whose `SigPnd` and `ShdPnd` masks hold bit `sig - 1` meanwhile)."""
        bit = 1 << (sig - 1)
        deadline = time.monotonic() + timeout
        while any(_pending(pid) & bit for pid in pids):
            if time.monotonic() > deadline:
                raise TimeoutError(f"signal {sig} still pending in the worker after {timeout:g} s")
            time.sleep(0.01)  # polling for a state that must come

    def wait(self, timeout: float) -> int | None:
        """The main process's exit code, or None if it is still running after `timeout` s."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

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
