"""`python -m bench [--quick] [--only fastapi-uvicorn,...]`: run the benchmarks, write the report.

The wall and CPU tier: the cost of one task in interleaved rounds, every app of a server at
once (`bench.rounds`), then questions 4 to 7 on each pair (`bench.scenarios`). Writes
`reports/bench.json`; a full run of every pair also writes `docs/benchmarks.md`, its plots
and its data (`docs/bench/`), and README's headlines. `--profiles` measures only the
profiles, `--durable` only the durable apps' numbers (`bench.durable`), into that data, and
`python -m bench.instructions` the instruction counts (the stable tier); a full run keeps
the committed ones of all three (each records how and when it was taken), so that it fits
its time. `--render` measures nothing. Progress goes to the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import durable, report, rounds
from bench.load import require
from bench.profile import profiles
from bench.scenarios import FULL, QUICK, Stuck, measure
from bench.server import BenchServer
from conformance.render import versions
from shared.servers import FRAMEWORKS, REPO, SERVERS

TARGETS = [(name, server) for server in SERVERS for name in ("bare", *FRAMEWORKS)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"one short run on the first server ({next(iter(SERVERS))}) only: "
                             f"{rounds.QUICK.rounds} rounds of the cost of a task, questions 4 to 7 once, "
                             "one durable app (under 3 minutes)")
    parser.add_argument("--only", help="comma-separated pairs, e.g. bare-uvicorn,quart-hypercorn")
    parser.add_argument("--out", type=Path, help="JSON results (default reports/bench.json, "
                        "reports/bench-quick.json with --quick)")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md",
                        help="the Markdown page, written by a full run of every pair")
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: write the page, its plots and README's headlines again from "
                             f"{report.DATA.relative_to(REPO)}")
    parser.add_argument("--profiles", action="store_true",
                        help="measure only the profiles (pinned like the rest), into the `profiles` of "
                             f"{report.DATA.relative_to(REPO)}; then write the page and README's headlines")
    parser.add_argument("--readme", type=Path, default=report.README,
                        help="the README whose headline block a full run, --profiles or --render writes")
    parser.add_argument("--durable", action="store_true",
                        help="measure only the durable apps' enqueue cost and delivery rate, into "
                             f"the `durable` of {report.DATA.relative_to(REPO)}; then write the page and "
                             "README's headlines")
    args = parser.parse_args(argv)
    if args.render:
        return publish_args(json.loads(report.DATA.read_text()), args)
    require("wrk", "h2load", "redis-server")
    if args.profiles:
        data = json.loads(report.DATA.read_text())
        data["profiles"] = profiles()
        report.DATA.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote the profiles into {report.DATA}")
        return publish_args(data, args)
    if args.durable:
        data = json.loads(report.DATA.read_text())
        with tempfile.TemporaryDirectory(prefix="afterward-bench-") as tmp:
            data["durable"] = durable.run_all(FULL.runs, durable.FULL, Path(tmp))
        report.DATA.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote the durable numbers into {report.DATA}")
        return publish_args(data, args)
    size = QUICK if args.quick else FULL
    args.out = args.out or REPO / "reports" / ("bench-quick.json" if args.quick else "bench.json")
    targets = TARGETS
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {f"{n}-{s}" for n, s in TARGETS}
        if unknown:
            parser.error(f"unknown pair(s) {', '.join(sorted(unknown))}; known: "
                         + ", ".join(f"{n}-{s}" for n, s in TARGETS))
        targets = [t for t in TARGETS if f"{t[0]}-{t[1]}" in wanted]
    first = next(iter(SERVERS))
    if args.quick:  # the machinery is the same on every server
        targets = [t for t in targets if t[1] == first] or targets

    results, started, load = [], time.monotonic(), os.getloadavg()[0]
    rsize = rounds.QUICK if args.quick else rounds.FULL
    measured_rounds: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="afterward-bench-") as tmp:
        # Questions 1 and 2, the cost of one task: every app of a server at once, interleaved.
        for server in dict.fromkeys(s for _, s in targets):
            apps = tuple(n for n, s in targets if s == server)
            print(f"[rounds, {time.monotonic() - started:4.0f} s] {server}: {', '.join(apps)}, "
                  f"{rsize.rounds} rounds", flush=True)
            measured_rounds += rounds.measure(server, rsize, Path(tmp), say=lambda s: print(s, flush=True),
                                              apps=apps)
        # Questions 4 to 7, one pair at a time.
        for run in range(1, size.runs + 1):
            for n, (name, server) in enumerate(targets, 1):
                pair = f"{name}-{server}"
                took = time.monotonic() - started
                print(f"[run {run}/{size.runs}, {n}/{len(targets)}, {took:4.0f} s] {pair}", flush=True)
                with BenchServer(name, server, log_path=Path(tmp) / f"{pair}.log") as live:
                    try:
                        measured = measure(live, size, say=lambda s: print("    " + s, flush=True))
                    except Stuck as exc:
                        print(f"    {pair}: {exc}", file=sys.stderr)
                        return 1
                results.append({"framework": name, "server": server, "run": run, **measured})
        complete = targets == TARGETS and not args.quick
        # The durable apps beside their in-process twins, for the frameworks of the pairs run
        # (the first of them only, in a quick run: each takes about half a minute). A full run
        # keeps the committed ones, which `--durable` measures again (7 minutes).
        chosen = [f for f in FRAMEWORKS if any(name == f for name, _ in targets)][:1 if args.quick else None]
        kept = json.loads(report.DATA.read_text()) if complete and report.DATA.exists() else {}
        if kept.get("durable"):
            print("durable: the committed numbers are kept (`--durable` measures them again)")
            chosen, measured_durable = [], kept["durable"]
        if chosen:
            try:
                measured_durable = durable.run_all(size.runs, durable.QUICK if args.quick else durable.FULL,
                                                   Path(tmp) / "durable", chosen,
                                                   say=lambda s: print(s, flush=True))
            except durable.Stuck as exc:
                print(f"    durable: {exc}", file=sys.stderr)
                return 1

    if complete and kept.get("profiles"):
        print("profiles: the committed ones are kept (`--profiles` takes them again, 6 minutes)")
    if complete and kept.get("instructions"):
        print("instructions: the committed counts are kept (`nox -s instructions` takes them again)")
    data = {"machine": report.machine(), "versions": versions(), "size": vars(size) | {"quick": args.quick},
            "rounds_size": vars(rsize), "rounds": measured_rounds,
            "results": results, "profiles": (kept.get("profiles") or profiles()) if complete else [],
            **({"durable": measured_durable} if chosen or kept.get("durable") else {}),
            **({"instructions": kept["instructions"]} if kept.get("instructions") else {}),
            "seconds": round(time.monotonic() - started),
            "load_1m": [round(load, 2), round(os.getloadavg()[0], 2)]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {args.out}")
    print(report.headlines(data))
    if complete:
        report.DATA.write_text(json.dumps(data, indent=1) + "\n")
        if not data.get("instructions"):
            print(f"the page needs the instruction counts too: `nox -s instructions` measures them into "
                  f"{report.DATA.relative_to(REPO)} and writes the page")
            return 0
        return publish_args(data, args)
    return 0


def publish_args(data: dict[str, object], args: argparse.Namespace) -> int:
    return report.publish(data, args.docs, args.readme)


if __name__ == "__main__":
    sys.exit(main())
