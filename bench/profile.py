"""Where a task's time goes: cProfile of the server's event-loop thread, per request.

Each framework's benchmark app runs under uvicorn (`bench.profiled`); after a warm-up,
the profiler is switched on for a few seconds of wrk on one endpoint, then off. Comparing
`/async-noop` and `/sync-noop` with `/none`, function by function (own time per
request), shows what one task adds. cProfile slows everything down and sees only the
loop thread (the `def` task's worker thread runs beside it), so the page reads the
shares, not the absolute microseconds.

Each framework is profiled in rounds, the three endpoints side by side in each, and the
additions are medians over rounds. Each profile records how it was taken: the cores the
server and wrk were allowed on, the machine's load average before and after, the rounds,
the versions. `python -m bench --profiles`
takes them again without the rest of the benchmark.
"""

from __future__ import annotations

import os
import pstats
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.load import generator_cpus, wrk
from bench.scenarios import ENDPOINTS
from bench.server import BenchServer
from conformance.render import versions
from shared.servers import FRAMEWORKS

#: Functions kept per endpoint, largest addition first (the page shows the first few; the
#: notes' checks look for the functions they name among all of them).
TOP = 10
#: Rounds per framework: the machine may be shared, and one profile can catch a burst of other work.
ROUNDS = 5


class ProfiledServer(BenchServer):
    """A benchmark app under `bench.profiled` (uvicorn with a profiler on a switch)."""

    def __init__(self, name: str, out: Path, **kwargs: Any) -> None:
        super().__init__(name, "uvicorn", runner="bench.profiled", env={"AFTERWARD_PROFILE": str(out)},
                         **kwargs)
        self.out = out

    def cpus(self) -> list[int]:
        """The cores the server process may run on, as the kernel has them."""
        return sorted(os.sched_getaffinity(self.pid))

    def profile(self, path: str, seconds: int, connections: int) -> tuple[int, Path]:
        wrk(self.url + path, 1, connections)  # warm-up, not profiled
        self.signal(signal.SIGUSR1)
        load = wrk(self.url + path, seconds, connections)
        self.signal(signal.SIGUSR2)
        # bench.profiled writes the stats under a temporary name and renames them to `out`:
        # once the name exists, the file is complete.
        deadline = time.monotonic() + 30
        while not self.out.exists():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self} exited before writing its profile\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no profile from {self}\n{self.log_tail()}")
            time.sleep(0.05)  # polling for a file that appears whole, with a deadline
        return load.requests, self.out


#: Time spent waiting, not working: left out of the per-request totals.
IDLE = {"<method 'poll' of 'select.epoll' objects>"}


def own_time(path: Path) -> dict[str, float]:
    """Function -> own (not cumulative) seconds on the loop thread."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    found: dict[str, float] = defaultdict(float)
    for (file, line, func), (_cc, _nc, tt, _ct, _callers) in stats.items():
        func = re.sub(r" at 0x[0-9a-f]+", "", func)
        key = f"{'/'.join(Path(file).parts[-2:])}:{line}({func})" if file != "~" else func
        if key not in IDLE:
            found[key] += tt
    return found


def profile(framework: str, seconds: int = 3, connections: int = 8,
            rounds: int = ROUNDS) -> dict[str, object]:
    """Each round profiles the three endpoints one after another, side by side; a function's
    addition is its own time per request on the endpoint minus on `/none` of the same round,
    then the median over rounds (so a burst of other work in one profile moves one sample)."""
    samples: dict[str, list[dict[str, float]]] = {e: [] for e in ENDPOINTS}
    served: dict[str, list[int]] = {e: [] for e in ENDPOINTS}
    server_cpus: set[int] = set()
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="afterward-profile-") as tmp:
        for n in range(rounds):
            for endpoint in ENDPOINTS:
                server = ProfiledServer(framework, Path(tmp) / f"{endpoint}-{n}.prof",
                                        log_path=Path(tmp) / "server.log")
                with server:
                    server_cpus.update(server.cpus())
                    requests, out = server.profile("/" + endpoint, seconds, connections)
                served[endpoint].append(requests)
                samples[endpoint].append({f: t / requests * 1e6 for f, t in own_time(out).items()})
    load.append(os.getloadavg()[0])
    taken = {"server_cpus": sorted(server_cpus), "generator_cpus": generator_cpus(), "cores": os.cpu_count(),
             "load_1m": [round(x, 2) for x in load], "seconds": seconds, "connections": connections,
             "rounds": rounds, "versions": versions()}
    return {"framework": framework, "server": "uvicorn", "taken": taken, "requests": served,
            **additions(samples)}


def additions(samples: dict[str, list[dict[str, float]]]) -> dict[str, object]:
    """From per-round µs/request by function: the median total per endpoint, and per task
    endpoint the functions that grew most against `/none` of the same round (median over rounds)."""
    found: dict[str, object] = {
        "total_us": {e: round(statistics.median(sum(s.values()) for s in samples[e]), 1) for e in samples}}
    for endpoint in [e for e in samples if e != "none"]:
        rounds = list(zip(samples[endpoint], samples["none"], strict=True))
        functions = set().union(*(mine for mine, _ in rounds))
        extra = {f: statistics.median(mine.get(f, 0.0) - base.get(f, 0.0) for mine, base in rounds)
                 for f in functions}
        top = sorted(extra.items(), key=lambda kv: -kv[1])[:TOP]
        found[endpoint] = [{"function": f, "extra_us": round(t, 2)} for f, t in top]
    return found


def profiles(say=print) -> list[dict[str, object]]:
    found = []
    for framework in FRAMEWORKS:
        say(f"[profile] {framework}-uvicorn under cProfile")
        found.append(profile(framework))
    return found


if __name__ == "__main__":
    import json

    json.dump(profiles(), sys.stdout, indent=1)
