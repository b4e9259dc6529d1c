"""`python -m mutation`: mutation testing of shared/ and the four apps, the contract tier as killer.

    python -m mutation                 # every mutant; writes docs/mutation/mutation.json and docs/mutation.md
    python -m mutation --jobs 2        # two files' sessions side by side
    python -m mutation --sample        # only the sample in mutation/declared.toml: each must be killed
    python -m mutation --file shared/validation.py   # one file (nothing written)
    python -m mutation --render        # the page again from the committed data

Each mutant is one cosmic-ray job: the file rewritten in a copy of the tree, then
`python -m mutation.kill` runs the contract tier (fail fast, one framework, one server
process for the run) against it. A line per mutant as it finishes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mutation import report
from mutation.mutants import Key, declared
from mutation.session import Session, copy_tree
from mutation.targets import SHARDS, TARGETS
from shared.servers import REPO

#: Seconds between looks at the sessions' results, for the progress lines.
POLL = 5.0


def run(sessions: list[Session], jobs: int) -> dict[str, dict[str, Any]]:
    total = sum(s.to_run() for s in sessions)
    done: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    finished = threading.Event()

    def show() -> None:
        for session in sessions:
            if not session.db.exists():
                continue
            for job_id, mutant in session.results().items():
                if job_id in done:
                    continue
                done[job_id] = mutant
                key: Key = mutant["key"]
                how = mutant.get("test", "").rpartition("::")[2] or mutant.get("message", "")
                took = f" {mutant['seconds']:.0f} s" if mutant.get("seconds") is not None else ""
                print(f"[{len(done):3d}/{total}] {time.monotonic() - started:5.0f}s {mutant['outcome']:<8} "
                      f"{key.file}:{mutant['line']} `{key.removed[:50]}` -> `{key.added[:50]}`"
                      f"{took} {how[:90]}", flush=True)

    def watch() -> None:
        while not finished.wait(POLL):
            show()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    by_size = sorted(sessions, key=lambda s: -s.to_run())
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        executions = list(pool.map(lambda s: s.execute(), by_size))
    finished.set()
    watcher.join()
    show()
    for session, execution in zip(by_size, executions):
        if execution.returncode != 0:
            print(f"cosmic-ray exec for {session.file} exited {execution.returncode}:\n{execution.stderr[-2000:]}",
                  file=sys.stderr)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1, help="sessions (files) run side by side")
    parser.add_argument("--sample", action="store_true", help="only the sample; every one must be killed")
    parser.add_argument("--file", action="append", default=[], choices=list(TARGETS))
    parser.add_argument("--deadline", type=float, default=150.0, help="seconds per mutant before it counts as hung")
    parser.add_argument("--render", action="store_true", help="render docs/mutation.md from the committed data")
    parser.add_argument("--workdir", type=Path, help="keep the trees and sessions here (default: a temporary one)")
    args = parser.parse_args(argv)

    if args.render:
        report.PAGE.write_text(report.render(json.loads(report.DATA.read_text())), encoding="utf-8")
        print(f"rendered {report.PAGE.relative_to(REPO)} from {report.DATA.relative_to(REPO)}")
        return 0
    sample = {Key.of(entry): entry["killed_by"] for entry in declared()["sample"]} if args.sample else None
    files = args.file or list(TARGETS)
    if sample is not None:
        files = [f for f in files if any(k.file == f for k in sample)]
    with tempfile.TemporaryDirectory(prefix="afterward-mutation-") as tmp:
        workdir = args.workdir or Path(tmp)
        pristine = copy_tree(REPO, workdir / "pristine")
        shards = {f: 1 if sample is not None else SHARDS.get(f, 1) for f in files}
        sessions = [Session(f, TARGETS[f], workdir, pristine, args.deadline, (i, shards[f]))
                    for f in files for i in range(shards[f])]
        for session in sessions:
            session.prepare(only=set(sample) if sample is not None else None)
        if sample is not None:
            listed = {m["key"] for s in sessions for m in s.mutants.values()}
            missing = [str(k) for k in sample if k not in listed]
            if missing:
                print("sample mutants no longer produced by cosmic-ray (the code changed: pick new ones in "
                      "mutation/declared.toml):\n  " + "\n  ".join(missing), file=sys.stderr)
                return 1
        print(f"{sum(s.to_run() for s in sessions)} mutants in {len(sessions)} file(s), {args.jobs} at a time; "
              f"killer: the contract tier, deadline {args.deadline:g} s a mutant", flush=True)
        started = time.monotonic()
        done = run(sessions, args.jobs)
        seconds = round(time.monotonic() - started)
        excluded = [m for s in sessions if s.shard[0] == 0 for m in s.mutants.values() if m["excluded"]]
    mutants = sorted(done.values(), key=lambda m: m["key"])
    errors = [m for m in mutants if m["outcome"] == "error"]
    for m in errors:
        print(f"ERROR {m['key']}: {m['message']}", file=sys.stderr)
    if sample is not None:
        wrong = [f"{m['key']}: {m['outcome']} {m.get('test', '')} ({m.get('phase', '')}), "
                 f"expected a failure of {sample[m['key']]} in its call"
                 for m in mutants if not (m["outcome"] == "killed" and m.get("phase") == "call"
                                          and m["test"].partition("[")[0].endswith("::" + sample[m["key"]]))]
        print(f"sample: {len(mutants) - len(wrong)} of {len(sample)} killed as declared in {seconds} s")
        for line in wrong:
            print("NOT KILLED AS DECLARED " + line, file=sys.stderr)
        return 1 if wrong or len(mutants) != len(sample) else 0
    counts = report.counts(mutants)
    print(f"{len(mutants)} mutants in {seconds} s: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if args.file or errors or len(mutants) != sum(s.to_run() for s in sessions):
        return 1 if errors else 0
    data = report.data(mutants, excluded, seconds, args.jobs, args.deadline)
    report.write(data)
    print(f"docs: {report.DATA.relative_to(REPO)}, {report.PAGE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
