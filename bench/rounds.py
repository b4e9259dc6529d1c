"""The wall and CPU tier of a task's cost: every app on one server, interleaved in short rounds.

The machine drifts more between minutes than within a second, so the cells to be compared
are measured next to each other, many times: the five apps (the bare ceiling and the four
frameworks) run at once on one server, each pinned to the server's core, and every round
takes one closed-loop wrk measurement of `seconds` of each app's `/none`, `/async-noop`
and `/sync-noop`, the three endpoints of one app one after another (A/B/C, then the next
app). Every other round runs in the reverse order, so that no cell always comes first. A
ratio (or a difference) is taken inside each round, then the median over rounds with its
bootstrap interval (`bench.stats`).

Each cell also records how busy the machine was: its CPU time over the cell (from
/proc/stat), less what the server, wrk and this process used, over the cores' time.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import wrk
from bench.server import BenchServer
from shared.servers import FRAMEWORKS

__all__ = ["APPS", "ENDPOINTS", "FULL", "QUICK", "RoundsSize", "measure"]

APPS = ("bare", *FRAMEWORKS)
ENDPOINTS = ("none", "async-noop", "sync-noop")


@dataclass(frozen=True)
class RoundsSize:
    rounds: int
    seconds: int  # each cell (wrk counts whole seconds)
    connections: int
    warmup: int  # seconds of each cell before the first round


FULL = RoundsSize(rounds=8, seconds=1, connections=16, warmup=1)
QUICK = RoundsSize(rounds=3, seconds=1, connections=16, warmup=0)


def machine_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far, every core, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick


def own_cpu() -> float:
    """CPU seconds of this process and of its children waited for (the wrk runs)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def cell(live: BenchServer, endpoint: str, size: RoundsSize) -> dict[str, Any]:
    """One closed-loop measurement, with the server's CPU and the rest of the machine's."""
    busy, total = machine_busy()
    mine, cpu = own_cpu(), live.cpu_seconds()
    load = wrk(f"{live.url}/{endpoint}", size.seconds, size.connections)
    cpu = live.cpu_seconds() - cpu
    mine = own_cpu() - mine
    busy2, total2 = machine_busy()
    other = max(0.0, (busy2 - busy) - cpu - mine) / max(total2 - total, 1e-9)
    return {"rps": load.rps, "requests": load.requests, "p50_ms": load.p50_ms, "p99_ms": load.p99_ms,
            "cpu_us_per_request": 1e6 * cpu / max(load.requests, 1), "errors": load.errors,
            "other_cpu_share": round(other, 3)}


def measure(server: str, size: RoundsSize, workdir: Path, say: Callable[[str], None] = print,
            apps: tuple[str, ...] = APPS) -> list[dict[str, Any]]:
    """Every round on `server`: one row per app, endpoint and round."""
    rows: list[dict[str, Any]] = []
    cells = [(app, e) for app in apps for e in ENDPOINTS]
    started = time.monotonic()
    with ExitStack() as stack:
        live = {app: stack.enter_context(BenchServer(app, server, log_path=workdir / f"{app}-{server}.log"))
                for app in apps}
        if size.warmup:
            for app, endpoint in cells:
                wrk(f"{live[app].url}/{endpoint}", size.warmup, size.connections)
        for n in range(1, size.rounds + 1):
            order = cells if n % 2 else cells[::-1]
            for app, endpoint in order:
                at = round(time.monotonic() - started, 1)
                rows.append({"framework": app, "server": server, "round": n, "endpoint": endpoint, "at": at,
                             **cell(live[app], endpoint, size)})
            mine = [r for r in rows if r["round"] == n]
            say(f"    round {n}/{size.rounds}: " + "  ".join(
                f"{app} {'/'.join(str(round(r['rps'])) for r in mine if r['framework'] == app)}"
                for app in apps) + " requests/s")
    return rows
