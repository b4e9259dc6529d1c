"""The load generators, as processes: wrk (closed loop) and h2load (open loop).

Both are compiled programs from Debian's packages (`wrk`, `nghttp2-client`), pinned
to a core of their own with `taskset` when the machine has more than one.

- `wrk` keeps `connections` keep-alive connections busy for `seconds`: throughput, and
  latency percentiles from its HdrHistogram.
- `h2load` opens one new connection per request at a fixed rate, whether or not the
  earlier ones were answered: an open loop, so a server that falls behind shows up as
  latency instead of as a slower client (no coordinated omission). Its per-request log
  gives the percentiles.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

GENERATOR_CPU = "1"
SERVER_CPU = "0"


def pinned(cpu: str) -> list[str]:
    """`taskset -c CPU` where there is a second core to pin to; nothing otherwise."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", cpu]
    return []


def generator_cpus() -> list[int]:
    """The cores the load generators may run on: their own, or whatever this process may use."""
    return [int(GENERATOR_CPU)] if pinned(GENERATOR_CPU) else sorted(os.sched_getaffinity(0))


def require(*programs: str) -> None:
    missing = [p for p in programs if not shutil.which(p)]
    if missing:
        raise SystemExit(f"bench: {', '.join(missing)} not found; `nox -s bench` installs them "
                         "(apt-get install wrk nghttp2-client)")


@dataclass
class Load:
    requests: int  # answered, any status
    errors: int  # non-2xx answers, socket errors and time-outs
    seconds: float
    p50_ms: float
    p99_ms: float
    sent: int = 0  # requests the generator started

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * UNITS[unit]


def wrk(url: str, seconds: float, connections: int, timeout_s: float = 10, method: str = "GET") -> Load:
    """Closed loop: `connections` connections on one wrk thread for `seconds`."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "method.lua"
        script.write_text(f'wrk.method = "{method}"\n')
        cmd = [*pinned(GENERATOR_CPU), "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               f"--timeout={timeout_s:g}s", "--latency", "-s", str(script), url]
        return parse_wrk(subprocess.run(cmd, capture_output=True, text=True, check=True,
                                        timeout=seconds + timeout_s + 30).stdout)


def parse_wrk(out: str) -> Load:
    requests, took = re.search(r"(\d+) requests in ([\d.]+\w+),", out).groups()
    seconds_run = _ms(took) / 1000
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(m.group(1)) if m else 0
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    return Load(int(requests), errors, seconds_run, p50, p99, int(requests))


def h2load(url: str, rate: int, seconds: float, timeout_s: float = 30) -> Load:
    """Open loop: `rate` new connections a second, one request each, for `seconds`."""
    total = max(1, round(rate * seconds))
    per_tick, period = _ticks(rate)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "requests.tsv"
        cmd = [*pinned(GENERATOR_CPU), "h2load", "--h1", "-t1", f"-c{total}", f"-n{total}",
               f"-r{per_tick}", f"--rate-period={period}", f"-T{timeout_s:g}", f"-N{timeout_s:g}",
               f"--log-file={log}", url]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                             timeout=seconds + timeout_s + 30).stdout
        return parse_h2load(out, log.read_text(), total)


def parse_h2load(out: str, log: str, total: int) -> Load:
    """h2load's summary and its per-request log (start µs, status, duration µs)."""
    rows = [line.split("\t") for line in log.splitlines() if line.strip()]
    # Status 0: h2load reads the status code only from a non-empty reason phrase, and
    # hypercorn (h11) sends "HTTP/1.1 200 " with none. Such rows are answers; callers
    # count the requests that reached the app from the app's own `/stats`.
    answered = [r for r in rows if r[1] == "0" or r[1].startswith("2")]
    latencies = sorted(int(r[2]) / 1000 for r in answered)
    errors = total - len(answered)
    finished = re.search(r"finished in ([\d.]+)(\w+),", out)
    if len(latencies) > 1:
        q = statistics.quantiles(latencies, n=100, method="inclusive")
    else:
        q = latencies * 99 or [0.0] * 99
    return Load(len(rows), errors, _ms("".join(finished.groups())) / 1000, q[49], q[98], total)


def _ticks(rate: int) -> tuple[int, str]:
    """h2load starts `-r` connections every `--rate-period`: a fine grid of 10 ms ticks."""
    per_tick = max(1, round(rate / 100))
    return per_tick, f"{max(1, round(1000 * per_tick / rate))}ms"
