"""`python -m bench.instructions`: instructions per request, counted by callgrind (the stable tier).

Each target (a benchmark app on a server) runs under valgrind's callgrind (`bench.callgrind`),
one process per run. After a warm-up of every endpoint, uncounted, counting is switched on
and each endpoint takes batches of `n` and of `2n` sequential keep-alive requests, a dump
after each: what a batch costs beyond its requests (the client connecting, timers, the
dump itself) is the same in both, so the difference over `n` is the marginal cost of one
request, start-up and warm-up cancelled. Each size is taken `repeats` times and its median
used, so that a rare event (a full garbage collection, tens of millions of instructions,
every few thousand requests) that lands in one batch moves nothing. A `/notify` batch is
dumped once the sink has every e-mail it sent, so that its tasks are all inside it.

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
from conformance.render import versions
from shared.servers import FRAMEWORKS, REPO, SERVERS, ServerFailed
from shared.sink import SmtpSink

__all__ = ["ENDPOINTS", "FULL", "QUICK", "TARGETS", "Size", "compare", "main", "marginal", "measure"]

#: No task, a no-op `async def` task, a no-op `def` task, the spec's notification (a `def` task).
ENDPOINTS = ("none", "async-noop", "sync-noop", "notify")
TARGETS = [(name, server) for server in SERVERS for name in ("bare", *FRAMEWORKS)]
DEFAULT_APPS = "bench.apps"


@dataclass(frozen=True)
class Size:
    runs: int  # processes per target: each figure's spread is over them
    n: int  # requests in the smaller batch (the larger has 2n)
    notify_n: int  # the same for `/notify`, whose requests cost ten times as much
    repeats: int  # batches of each size, per endpoint and run: the median of each is used
    warmup: int  # requests per endpoint before counting starts
    endpoints: tuple[str, ...] = ENDPOINTS
    tolerance: float = 0.02  # `--baseline`: how far above the baseline a figure may be


FULL = Size(runs=2, n=60, notify_n=10, repeats=3, warmup=60)
#: What CI runs: the no-op tasks only (the notification's batches would double the time).
QUICK = Size(runs=1, n=40, notify_n=10, repeats=3, warmup=30, endpoints=ENDPOINTS[:3])


class Stuck(RuntimeError):
    pass


def delivered(sink: SmtpSink) -> int:
    return sum(1 for m in list(sink.received) if m.delivered)


def until(done: Callable[[], bool], limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not done():
        if time.monotonic() > deadline:
            raise Stuck(f"{what} after {limit:g} s")
        time.sleep(0.01)  # polling a count with a deadline, in a benchmark


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
                if endpoint == "notify":
                    sent += n
                    until(lambda: delivered(sink) >= sent, 120,
                          f"{sent - delivered(sink)} e-mail(s) not arrived")

            for endpoint in size.endpoints:
                batch(endpoint, size.warmup)
            live.on()
            found: dict[str, Any] = {}
            for endpoint in size.endpoints:
                n = size.notify_n if endpoint == "notify" else size.n
                batch(endpoint, max(1, n // 4))  # counted code, not yet measured: valgrind translates it
                live.dump()
                batches = []
                for _ in range(size.repeats):
                    for k in (n, 2 * n):
                        batch(endpoint, k)
                        batches.append([k, live.dump()])
                found[endpoint] = {"per_request": marginal(batches), "batches": batches}
    return found


def marginal(batches: list[list[int]]) -> int:
    """Instructions per request from batches of n and 2n requests ([requests, instructions]): the
    difference of the two sizes' medians over n, so that what every batch costs beyond its
    requests cancels, and one batch with a rare event in it moves nothing."""
    n = min(k for k, _ in batches)
    small = statistics.median(ir for k, ir in batches if k == n)
    large = statistics.median(ir for k, ir in batches if k == 2 * n)
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


def figures(data: dict[str, Any]) -> dict[tuple[str, str, str], float]:
    """(framework, server, endpoint) -> the median over runs of its instructions per request."""
    rows: dict[tuple[str, str, str], list[float]] = {}
    for r in data["results"]:
        for e in ENDPOINTS:
            if e in r:
                rows.setdefault((r["framework"], r["server"], e), []).append(r[e]["per_request"])
    return {k: statistics.median(v) for k, v in rows.items()}


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
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="targets measured at once (default: %(default)s, one per core, at most 2)")
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

    load, started = os.getloadavg()[0], time.monotonic()
    print(f"instructions: {len(targets)} target(s) x {size.runs} run(s), {args.jobs} at a time, "
          f"under valgrind {valgrind_version()}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="afterward-instructions-") as tmp:
            results = run_all(targets, size, Path(tmp), args.apps, args.jobs,
                              say=lambda s: print(s, flush=True))
    except (Stuck, ServerFailed, RuntimeError, httpx.HTTPError) as exc:
        print(f"instructions: {exc}", file=sys.stderr)
        return 1
    data = {"size": asdict(size) | {"quick": args.quick}, "apps": args.apps, "valgrind": valgrind_version(),
            "versions": versions(), "machine": report.machine(), "results": results,
            "seconds": round(time.monotonic() - started), "jobs": args.jobs,
            "load_1m": [round(load, 2), round(os.getloadavg()[0], 2)]}
    print(summary(data))
    complete = targets == TARGETS and not args.quick and args.apps == DEFAULT_APPS and not args.out
    if complete:
        kept = json.loads(report.DATA.read_text())
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
        above = sum(a for _, a in lines)
        if above:
            print(f"instructions: {above} figure(s) above the baseline", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
