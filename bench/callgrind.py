"""A benchmark app's server under valgrind's callgrind, counting instructions on request.

The server starts with instrumentation off (`--instr-atstart=no`), so that start-up runs at
valgrind's plain speed and is never counted. `on()` switches it on, in every process of the
server (some servers serve from a child: `--trace-children=yes` runs the children under
callgrind too); `dump()` writes what each process executed since its last dump and
returns the sum, and callgrind starts counting from zero again. The commands reach the
processes through `vgdb`, valgrind's own channel (what `callgrind_control` uses), by PID:
only the processes this server started are ever addressed.

valgrind runs a process's threads one at a time and sees user space only: what the kernel
does for a system call, a context switch or a wake-up is not counted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.server import BenchServer

__all__ = ["VALGRIND", "CountedServer", "require_valgrind", "total", "valgrind_version"]

#: valgrind's options. `--fair-sched=yes` hands the one running thread on in a fixed order
#: (a ticket lock) rather than to whichever thread the kernel wakes first: fewer of the
#: GIL's hand-overs depend on timing. Measured on bare-uvicorn-std's `/sync-noop`, ten
#: batches of 40 requests: their spread (standard deviation) 1.4% without it, 0.6% with it.
VALGRIND = ("valgrind", "--tool=callgrind", "--instr-atstart=no", "--trace-children=yes", "--fair-sched=yes")


def require_valgrind() -> None:
    missing = [p for p in ("valgrind", "vgdb") if not shutil.which(p)]
    if missing:
        raise SystemExit(f"bench: {', '.join(missing)} not found; `nox -s instructions` installs it "
                         "(apt-get install valgrind)")


def valgrind_version() -> str:
    out = subprocess.run(["valgrind", "--version"], capture_output=True, text=True, check=True).stdout
    return out.strip().removeprefix("valgrind-")


def total(path: Path) -> int:
    """The instructions (Ir) one callgrind dump holds: its `totals:` line (`summary:` in older files)."""
    text = path.read_text(errors="replace")
    found = re.search(r"^totals:\s+(\d+)", text, re.M) or re.search(r"^summary:\s+(\d+)", text, re.M)
    if not found:
        raise ValueError(f"{path}: no totals in this callgrind file")
    return int(found.group(1))


class CountedServer(BenchServer):
    """`BenchServer` under callgrind, its dumps in `out_dir`; not pinned to a core (counts do not
    depend on where it runs, so two may run at once)."""

    def __init__(self, name: str, server: str, out_dir: Path, **kwargs: Any) -> None:
        kwargs.setdefault("ready_timeout", 180.0)  # start-up under valgrind takes 5 to 10 times as long
        # One string hash for every run: with a random one, each process lays out its dicts and sets
        # differently, and the instructions a lookup takes move with it.
        kwargs["env"] = {**kwargs.get("env", {}), "PYTHONHASHSEED": "0"}
        super().__init__(name, server, pin=False, **kwargs)
        self.out_dir = out_dir
        self.counted: dict[int, int] = {}  # pid -> dumps taken so far

    def command(self, fd: int) -> list[str]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return [*VALGRIND, f"--callgrind-out-file={self.out_dir}/callgrind.%p", *super().command(fd)]

    def control(self, pid: int, *command: str) -> str:
        # --max-invoke-ms: a server waiting in epoll is woken for the command after 1 ms, not 100.
        done = subprocess.run(["vgdb", "--max-invoke-ms=1", f"--pid={pid}", *command], capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"vgdb {' '.join(command)} for {pid} ({self}) failed: "
                               f"{(done.stdout + done.stderr).strip()}\n{self.log_tail()}")
        return done.stdout

    def on(self) -> None:
        """Count from here on, in every process the server has now."""
        for pid in self.pids():
            self.control(pid, "instrumentation", "on")
            self.counted[pid] = 0

    def dump(self) -> int:
        """Instructions executed by the server's processes since the last dump (or `on()`)."""
        found = 0
        for pid in self.counted:
            self.control(pid, "dump")
            self.counted[pid] += 1
            found += total(self.out_dir / f"callgrind.{pid}.{self.counted[pid]}")
        return found
