"""Questions 4 to 7 of docs/benchmarks.md (slow tasks, blocking, saturation, backlog), taken one
after another on one live server. The cost of one task, section 3, is `bench.rounds`:
interleaved, every app of a server at once.

Every number comes from outside the server: the load generators, /proc, and the app's
own `/stats` (tasks registered and done, task lag). Nothing here sleeps to synchronise:
the waits poll a count with a deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from bench.load import h2load, wrk
from bench.rounds import ENDPOINTS
from shared.servers import LiveServer

__all__ = ["ENDPOINTS", "FULL", "QUICK", "Size", "Stuck", "drain", "measure"]


@dataclass(frozen=True)
class Size:
    runs: int
    seconds: int  # each closed-loop run (wrk counts whole seconds)
    warmup: int  # seconds of /none before the first measurement, 0 for none
    slow_rate: int  # question 3: requests/s, each with a task of slow_ms
    slow_ms: int
    slow_seconds: float
    block_rate: int  # question 4: requests/s whose task blocks for block_ms
    block_ms: int
    flood_rate: int  # questions 5 and 6: requests/s whose `def` task blocks for flood_ms
    flood_ms: int
    flood_seconds: float
    drain_limit: float = 60.0  # seconds a backlog may take to drain before the run fails


FULL = Size(runs=2, seconds=2, warmup=1, slow_rate=50, slow_ms=1000, slow_seconds=2,
            block_rate=20, block_ms=20, flood_rate=600, flood_ms=100, flood_seconds=0.5)
QUICK = Size(runs=1, seconds=1, warmup=0, slow_rate=50, slow_ms=500, slow_seconds=0.5,
             block_rate=20, block_ms=20, flood_rate=600, flood_ms=50, flood_seconds=0.15)


class Stuck(RuntimeError):
    pass


def measure(live: LiveServer, size: Size, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Questions 4 to 7 against one live server."""
    url = live.url
    out: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=60) as http:
        if size.warmup:
            wrk(url + "/none", size.warmup, 16)

        # 3: time to response while every task takes slow_ms, open loop, and the task lag.
        http.get("/stats", params={"reset": 1})
        load = h2load(f"{url}/async-sleep/{size.slow_ms}", size.slow_rate, size.slow_seconds)
        done = drain(http, size.drain_limit)[1]
        out["slow"] = {"rate": size.slow_rate, "response_p50_ms": load.p50_ms, "response_p99_ms": load.p99_ms,
                       "lag_p50_ms": done["lag_ms"]["p50"], "lag_p99_ms": done["lag_ms"]["p99"],
                       "errors": max(load.errors, load.sent - done["registered"])}

        # 4: a plain endpoint's latency while tasks block the loop, or block a thread.
        base = wrk(url + "/none", size.seconds, 4)
        out["blocking"] = {"none": {"p50_ms": base.p50_ms, "p99_ms": base.p99_ms, "rps": base.rps}}
        for kind in ("async-block", "sync-block"):
            http.get("/stats", params={"reset": 1})
            with ThreadPoolExecutor(1) as pool:
                tasks = pool.submit(h2load, f"{url}/{kind}/{size.block_ms}", size.block_rate, size.seconds)
                plain = wrk(url + "/none", size.seconds, 4)
                tasks.result()
            done = drain(http, size.drain_limit)[1]
            out["blocking"][kind] = {"p50_ms": plain.p50_ms, "p99_ms": plain.p99_ms, "rps": plain.rps,
                                     "errors": plain.errors
                                     + max(0, tasks.result().sent - done["registered"])}
        say(f"slow: answer p99 {out['slow']['response_p99_ms']:.1f} ms, "
            f"lag p99 {out['slow']['lag_p99_ms']:.0f} ms;"
            f"  plain p99 {base.p99_ms:.1f} / async-block {out['blocking']['async-block']['p99_ms']:.1f}"
            f" / sync-block {out['blocking']['sync-block']['p99_ms']:.1f} ms")

        # 5 and 6: more blocking `def` tasks than the pool has threads; the backlog.
        http.get("/stats", params={"reset": 1})
        with RssPeak(live) as rss:
            started = time.monotonic()
            load = h2load(f"{url}/sync-block/{size.flood_ms}", size.flood_rate, size.flood_seconds)
            pending = http.get("/stats").json()["pending"]
            drain_s, done = drain(http, size.drain_limit)
            elapsed = time.monotonic() - started
        out["saturation"] = {"rate": size.flood_rate, "tasks": done["done"], "task_ms": size.flood_ms,
                             "tasks_per_s": done["done"] / elapsed, "answers_per_s": load.rps,
                             "response_p99_ms": load.p99_ms, "lag_p50_ms": done["lag_ms"]["p50"],
                             "lag_p99_ms": done["lag_ms"]["p99"],
                             "errors": max(load.errors, load.sent - done["registered"])}
        out["backlog"] = {"pending_at_stop": pending, "drain_s": drain_s, **rss.kib}
        say(f"saturation: {out['saturation']['tasks_per_s']:.0f} tasks/s, lag p99 "
            f"{out['saturation']['lag_p99_ms']:.0f} ms; backlog {pending} pending, "
            f"drained in {drain_s:.2f} s, "
            f"RSS {rss.kib['rss_before_kib'] // 1024}/{rss.kib['rss_peak_kib'] // 1024}/"
            f"{rss.kib['rss_after_kib'] // 1024} MiB")
    return out


def drain(http: httpx.Client, limit: float) -> tuple[float, dict[str, Any]]:
    """Seconds until no counted task is pending, and the final `/stats`."""
    started = time.monotonic()
    while True:
        stats = http.get("/stats").json()
        if stats["pending"] == 0:
            return time.monotonic() - started, stats
        if time.monotonic() - started > limit:
            raise Stuck(f"{stats['pending']} tasks still pending after {limit:g} s")
        time.sleep(0.01)  # polling a count with a deadline, in a benchmark


class RssPeak:
    """Resident memory before, at the peak (sampled every 20 ms) and after."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.kib: dict[str, int] = {}
        self._stop = threading.Event()
        self._peak = 0

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._peak = max(self._peak, self.live.rss_kib())

    def __enter__(self) -> RssPeak:
        self.kib["rss_before_kib"] = self._peak = self.live.rss_kib()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        after = self.live.rss_kib()
        self.kib["rss_peak_kib"] = max(self._peak, after)
        self.kib["rss_after_kib"] = after
