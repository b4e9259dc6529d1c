"""`python -m bench.instructions`: instructions per request, counted by callgrind (the stable tier).

Each target (a benchmark app on a server) runs under valgrind's callgrind (`bench.callgrind`),
one process per run. After a warm-up of every endpoint, uncounted, counting is switched on.
First the server is left idle for a spell, a dump after it: what it runs by the clock alone
(uvicorn's and hypercorn's timers), per second (another spell at the end). Then each
endpoint takes pairs of batches of `n` and of `2n` sequential keep-alive requests, a dump
after each, its wall time noted: `repeats` pairs at least, and more while the median's
standard error is above `precision`, up to `most` pairs or `budget` seconds (a thread hop
on one server varies by 2% from batch to batch, most endpoints by 0.3%).
A batch's figure is its instructions less the idle rate times its wall time, over its
requests: under valgrind a request takes fifty times as long as at full speed, and without
this the timers would be charged fifty times over, more on a busier machine. The figure of
a run is the median over its batches, so that a rare event (a full garbage collection, tens
of millions of instructions) that lands in one batch moves nothing. The difference of the
two sizes' medians over `n` (the marginal cost, with what a batch costs beyond its requests
cancelled) is kept beside it: the two agree, and the median is the less noisy. `/notify`
requests go one at a time, the next once the sink has seen the last one's task quit SMTP:
each task runs alone (how tasks overlapping share the GIL depends on timing) and whole
inside its batch.

A full run of every target writes the `instructions` of docs/bench/bench.json and the page;
otherwise `--out`. `--baseline FILE` compares each figure with the same figure in FILE (a
report of this command, or bench.json) and exits 1 when one is more than `--tolerance` above
it: the check a change that makes a task do more work must fail.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import report
from bench.callgrind import CountedServer, require_valgrind, valgrind_version
from bench.data import ENDPOINTS, figures, largest_difference, run_differences
from conformance.render import versions
from shared.servers import FRAMEWORKS, REPO, SERVERS, ServerFailed
from shared.sink import SmtpSink

__all__ = ["ENDPOINTS", "FULL", "QUICK", "TARGETS", "Size", "compare", "idle_rate", "main", "marginal",
           "measure", "per_request", "standard_error"]

TARGETS = [(name, server) for server in SERVERS for name in ("bare", *FRAMEWORKS)]
DEFAULT_APPS = "bench.apps"


@dataclass(frozen=True)
class Size:
    runs: int  # processes per target: each figure's spread is over them
    n: int  # requests in the smaller batch (the larger has 2n)
    notify_n: int  # the same for `/notify`, whose requests cost ten times as much
    repeats: int  # batches of each size, per endpoint and run, at least
    warmup: int  # requests per endpoint before counting starts (`/notify`: notify_n)
    #: More pairs of batches while the median's standard error is above `precision` (a fraction
    #: of it), up to `most` pairs or `budget` seconds of an endpoint's batches, whichever is first.
    precision: float = 0.0025
    most: int = 16
    budget: float = 25.0
    idle: tuple[int, float] = (2, 1.0)  # idle spells a run (half before the batches, half after), seconds
    endpoints: tuple[str, ...] = ENDPOINTS
    tolerance: float = 0.02  # `--baseline`: how far above the baseline a figure may be


#: Three runs: a run's figure can sit 3% off the others' (one pair's `def` task, each batch
#: of that process alike: a state of the process, not noise in a batch); the median of three
#: leaves one such run out.
FULL = Size(runs=3, n=40, notify_n=8, repeats=3, warmup=60, budget=20.0)
#: What CI runs: the no-op tasks only (the notification's batches would double the time).
QUICK = Size(runs=1, n=40, notify_n=8, repeats=3, warmup=30, endpoints=ENDPOINTS[:3], most=3)


def measure(name: str, server: str, size: Size, workdir: Path, apps: str = DEFAULT_APPS) -> dict[str, Any]:
    """One run of one target: every endpoint's instructions per request, and its batches."""
    workdir.mkdir(parents=True, exist_ok=True)
    with SmtpSink() as sink:
        env = {"AFTERWARD_SMTP_HOST": "127.0.0.1", "AFTERWARD_SMTP_PORT": str(sink.port)}
        live = CountedServer(name, server, workdir / "callgrind", app=f"{apps}.{name}_app:app",
                             log_path=workdir / "server.log", env=env, unset=["AFTERWARD_EVENTS"])
        with live, httpx.Client(base_url=live.url, timeout=120) as http:
            sent = 0

            def batch(endpoint: str, n: int) -> None:
                nonlocal sent
                for _ in range(n):
                    http.get("/" + endpoint).raise_for_status()
                    if endpoint == "notify":  # one at a time: the next request once this task has quit SMTP
                        sent += 1
                        sink.wait_ended(sent, timeout=120)

            for endpoint in size.endpoints:
                batch(endpoint, size.notify_n if endpoint == "notify" else size.warmup)
            live.on()
            idle: list[list[float]] = []  # [instructions, seconds] of each idle spell
            mark = time.monotonic()

            def dump() -> tuple[int, float]:
                """Instructions and wall seconds since the last dump (the dump itself left out)."""
                nonlocal mark
                took = time.monotonic() - mark
                found = live.dump()
                mark = time.monotonic()
                return found, took

            def idle_spells(count: int) -> None:
                dump()
                for _ in range(count):
                    time.sleep(size.idle[1])  # the server idle on purpose: this is what is measured
                    idle.append(list(dump()))

            idle_spells(size.idle[0] // 2)
            found: dict[str, Any] = {}
            for endpoint in size.endpoints:
                n = size.notify_n if endpoint == "notify" else size.n
                batch(endpoint, max(1, n // 4))  # counted code, not yet measured: valgrind translates it
                dump()
                batches = []
                started = time.monotonic()
                while len(batches) < 2 * size.repeats or (
                        standard_error(batches) > size.precision and len(batches) < 2 * size.most
                        and time.monotonic() - started < size.budget):
                    for k in (n, 2 * n):
                        batch(endpoint, k)
                        ir, took = dump()
                        batches.append([k, ir, round(took, 4)])
                found[endpoint] = {"batches": batches}
            idle_spells(size.idle[0] - size.idle[0] // 2)
    rate = idle_rate(idle)
    for cell in found.values():
        cell["per_request"] = per_request(cell["batches"], rate)
        cell["marginal"] = marginal(cell["batches"], rate)
    return {"idle": idle, "idle_per_s": round(rate), **found}


def standard_error(batches: list[list[float]]) -> float:
    """The median's standard error over these batches, as a fraction of it, from their spread
    (1.4826 times the median absolute deviation, a standard deviation that one batch with a
    full collection in it does not inflate; the median's is 1.2533 times the mean's)."""
    values = [b[1] / b[0] for b in batches]
    mid = statistics.median(values)
    mad = statistics.median(abs(v - mid) for v in values)
    return 1.2533 * 1.4826 * mad / mid / len(values) ** 0.5


def idle_rate(spells: list[list[float]]) -> float:
    """Instructions a second the server runs with no request, over all its idle spells pooled (a
    timer that fires ten times a second fires 4 to 6 times in a spell of 0.5 s: 20% either way)."""
    return sum(ir for ir, _ in spells) / sum(took for _, took in spells)


def corrected(batch: list[float], rate: float) -> float:
    """A batch's instructions ([requests, instructions, seconds]) less what the clock alone ran."""
    return batch[1] - rate * (batch[2] if len(batch) > 2 else 0.0)


def per_request(batches: list[list[float]], rate: float = 0.0) -> int:
    """Instructions per request: the median over batches of each one's instructions, less the
    idle rate times its wall time, over its requests."""
    return round(statistics.median(corrected(b, rate) / b[0] for b in batches))


def marginal(batches: list[list[float]], rate: float = 0.0) -> int:
    """Instructions per request from batches of n and 2n requests: the difference of the two
    sizes' medians over n, so that what every batch costs beyond its requests cancels."""
    n = min(b[0] for b in batches)
    small = statistics.median(corrected(b, rate) for b in batches if b[0] == n)
    large = statistics.median(corrected(b, rate) for b in batches if b[0] == 2 * n)
    return round((large - small) / n)


def run_all(targets: list[tuple[str, str]], size: Size, workdir: Path, apps: str = DEFAULT_APPS,
            jobs: int = 2, say: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Every target, `size.runs` times (run 1 of all of them, then run 2...), `jobs` at a time."""
    todo = [(run, name, server) for run in range(1, size.runs + 1) for name, server in targets]
    started, lock, done = time.monotonic(), threading.Lock(), [0]

    def one(job: tuple[int, str, str]) -> dict[str, Any]:
        run, name, server = job
        t = time.monotonic()
        found = measure(name, server, size, workdir / f"{name}-{server}-{run}", apps)
        with lock:
            done[0] += 1
            say(f"[{done[0]}/{len(todo)}, {time.monotonic() - started:4.0f} s] {name}-{server} run {run} "
                f"({time.monotonic() - t:.0f} s): "
                + "  ".join(f"{e} {found[e]['per_request'] / 1000:.1f}k" for e in size.endpoints))
        return {"framework": name, "server": server, "run": run, **found}

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(one, todo))


def compare(data: dict[str, Any], baseline: dict[str, Any], tolerance: float) -> list[tuple[str, bool]]:
    """One line per figure measured in both, and whether it is more than `tolerance` above the
    baseline's (the caller fails on those)."""
    mine, theirs = figures(data), figures(baseline.get("instructions", baseline))
    lines = []
    for key in [k for k in mine if k in theirs]:
        change = mine[key] / theirs[key] - 1
        above = change > tolerance
        lines.append((f"{key[0]}-{key[1]} /{key[2]}: {mine[key] / 1000:.1f}k instructions a request, "
                      f"{change:+.1%} on the baseline's {theirs[key] / 1000:.1f}k "
                      f"({'ABOVE' if above else 'within'} +{tolerance:.0%})", above))
    return lines


def summary(data: dict[str, Any]) -> str:
    found = figures(data)
    pairs = list(dict.fromkeys((k[0], k[1]) for k in found))
    measured = [e for e in ENDPOINTS if any(k[2] == e for k in found)]
    lines = [f"{'pair':22}" + "".join(f"{'/' + e:>14}" for e in measured) + "   (instructions a request)"]
    for p in pairs:
        lines.append(f"{p[0] + '-' + p[1]:22}" + "".join(f"{found[(*p, e)] / 1000:13.1f}k" for e in measured))
    return "\n".join(lines)


def commit() -> str:
    """The checkout's commit, `+` when its code has changes (what the figures were measured at;
    the generated pages and their data, which a run rewrites, do not count)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD")
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs", ":!README.md")
    return head + ("+" if changed else "") if head else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"one run, batches of {QUICK.n} and {2 * QUICK.n} (the first pair only, "
                             "unless --only names others)")
    parser.add_argument("--only", help="comma-separated pairs, e.g. bare-uvicorn,quart-hypercorn")
    parser.add_argument("--apps", default=DEFAULT_APPS,
                        help="the package whose `<framework>_app` modules are measured (default %(default)s)")
    parser.add_argument("--out", type=Path, help="the JSON report (default reports/instructions.json, "
                        "reports/instructions-quick.json with --quick; a full run of every target "
                        "writes docs/bench/bench.json)")
    parser.add_argument("--baseline", type=Path, help="a report (or bench.json) to compare each figure with")
    parser.add_argument("--tolerance", type=float, help="how far above the baseline a figure may be "
                        f"(default {FULL.tolerance:g}, i.e. {FULL.tolerance:.0%})")
    parser.add_argument("--jobs", type=int, default=min(3, (os.cpu_count() or 1) + 1),
                        help="targets measured at once (default: %(default)s, one more than the cores, at "
                             "most 3: a counted server waits for vgdb and its client a third of the time)")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    targets = TARGETS[:1] if args.quick else TARGETS
    if args.only:
        wanted = args.only.split(",")
        unknown = [w for w in wanted if w not in {f"{n}-{s}" for n, s in TARGETS}]
        if unknown:
            parser.error(f"unknown pair(s) {', '.join(unknown)}; known: "
                         + ", ".join(f"{n}-{s}" for n, s in TARGETS))
        targets = [t for t in TARGETS if f"{t[0]}-{t[1]}" in wanted]
    baseline = None
    if args.baseline:
        try:
            baseline = json.loads(args.baseline.read_text())
        except (OSError, ValueError) as exc:
            parser.error(f"--baseline {args.baseline}: {exc}")
    require_valgrind()

    load, started, wall_start = os.getloadavg()[0], time.monotonic(), time.time()
    print(f"instructions: {len(targets)} target(s) x {size.runs} run(s), {args.jobs} at a time, "
          f"under valgrind {valgrind_version()}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="afterward-instructions-") as tmp:
            results = run_all(targets, size, Path(tmp), args.apps, args.jobs,
                              say=lambda s: print(s, flush=True))
    except (TimeoutError, ServerFailed, RuntimeError, httpx.HTTPError) as exc:
        print(f"instructions: {exc}", file=sys.stderr)
        return 1
    data = {"size": asdict(size) | {"quick": args.quick}, "apps": args.apps, "valgrind": valgrind_version(),
            "commit": commit(), "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(wall_start)),
            "versions": versions(), "machine": report.machine(), "results": results,
            "seconds": round(time.monotonic() - started), "jobs": args.jobs,
            "load_1m": [round(load, 2), round(os.getloadavg()[0], 2)]}
    print(summary(data))
    complete = targets == TARGETS and not args.quick and args.apps == DEFAULT_APPS and not args.out
    if complete:
        kept = json.loads(report.DATA.read_text())
        if "instructions" in kept:  # the full run before this one, kept so that the page can compare the two
            kept["instructions"].pop("previous", None)
            data["previous"] = kept["instructions"]
            when = data["previous"].get("started", "undated")
            print(f"this run and the previous full run ({when}) differ by "
                  + largest_difference(run_differences(data, data["previous"])))
        kept["instructions"] = data
        report.DATA.write_text(json.dumps(kept, indent=1) + "\n")
        print(f"wrote the instructions into {report.DATA} ({data['seconds']} s)")
        if report.publish(kept):
            return 1
    else:
        out = args.out or REPO / "reports" / f"instructions{'-quick' if args.quick else ''}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {out} ({data['seconds']} s)")
    if baseline is not None:
        lines = compare(data, baseline, size.tolerance if args.tolerance is None else args.tolerance)
        print("\n".join(line for line, _ in lines) or "no figure in common with the baseline")
        if lines:
            either = largest_difference(run_differences(data, baseline))
            print(f"either way, this run and the baseline differ by {either}")
        above = sum(a for _, a in lines)
        if above:
            print(f"instructions: {above} figure(s) above the baseline", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
