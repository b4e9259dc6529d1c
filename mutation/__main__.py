"""`python -m mutation`: mutation testing of shared/ and the four apps, the contract tier as killer.

    python -m mutation                 # every mutant; writes docs/mutation/mutation.json and docs/mutation.md
    python -m mutation --jobs 2        # two files' sessions side by side
    python -m mutation --sample        # only the sample in mutation/declared.toml: each must be killed
    python -m mutation --file shared/validation.py   # one file (nothing written)
    python -m mutation --render        # the page again from the committed data
    python -m mutation --elsewhere     # only the killers of the mutants declared killed elsewhere
    python -m mutation --independent   # the independent apps' one-clause mutants (mutation/independent.py)
    python -m mutation --independent --long   # their survivors again, with the suite's --long

Each mutant is one cosmic-ray job: the file rewritten in a copy of the tree, then
`python -m mutation.kill` runs the contract tier (fail fast, one framework, one server
process for the run) against it. A line per mutant as it finishes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mutation import elsewhere, report
from mutation.mutants import Key, declared
from mutation.session import Session, copy_tree
from mutation.targets import SHARDS, SIZES, TARGETS
from shared.servers import REPO

#: Seconds between looks at the sessions' results, for the progress lines.
POLL = 5.0


def run(sessions: list[Session], jobs: int, only: set[Key] | None) -> dict[str, dict[str, Any]]:
    """Prepare and execute the sessions, `jobs` at a time, biggest file first; a line per mutant."""
    done: dict[str, dict[str, Any]] = {}
    prepared: list[Session] = []
    started = time.monotonic()
    finished = threading.Event()

    def show() -> None:
        total = sum(s.to_run() for s in prepared) if len(prepared) == len(sessions) else "?"
        for session in list(prepared):
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

    def prepare_and_execute(session: Session) -> subprocess.CompletedProcess[str]:
        session.prepare(only)
        prepared.append(session)
        print(f"{session.slug}: {session.to_run()} mutants, killer {session.framework}", flush=True)
        return session.execute()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    by_size = sorted(sessions, key=lambda s: -SIZES.get(s.file, 0) / s.shard[1])
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        executions = list(pool.map(prepare_and_execute, by_size))
    finished.set()
    watcher.join()
    show()
    for session, execution in zip(by_size, executions, strict=True):
        if execution.returncode != 0:
            print(f"cosmic-ray exec for {session.slug} exited {execution.returncode}:\n"
                  f"{execution.stderr[-2000:]}", file=sys.stderr)
    return done


def tested_commit() -> str:
    """The commit the run copies, marked when the tree has changes of its own."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no")
    return commit + (" with uncommitted changes" if changed else "")


def as_declared(mutant: dict[str, Any], killed_by: str) -> bool:
    """Killed in the call of the named test or, with no test named, survived every test."""
    if not killed_by:
        return bool(mutant["outcome"] == "survived")
    return (mutant["outcome"] == "killed" and mutant.get("phase") == "call"
            and mutant["test"].partition("[")[0].endswith("::" + killed_by))


def kill_elsewhere(data: dict[str, Any], workdir: Path) -> list[dict[str, Any]]:
    """Run the killer declared for each mutant killed elsewhere against it (mutation/elsewhere.py)."""
    survivors = {Key.of(m): m for m in data["mutants"] if m["outcome"] == "survived"}
    entries = [e for e in declared().get("equivalent", []) if e.get("kind") == "elsewhere"]
    commit, kills = tested_commit(), []
    for n, entry in enumerate(entries, 1):
        key = Key.of(entry)
        mutant = survivors.get(key)
        if mutant is None:
            outcome = {"outcome": "error", "message": "not a survivor of the contract tier in this data"}
        else:
            outcome = elsewhere.run_killer(entry, mutant, workdir)
        kills.append({**key.as_dict(), "killer": entry["killer"], "pair": "-".join(elsewhere.KILLER_PAIR),
                      "commit": commit, **outcome})
        print(f"[{n}/{len(entries)}] elsewhere {outcome['outcome']:<8} {key.file} `{key.removed[:40]}` -> "
              f"`{key.added[:40]}` by {entry['killer']} {outcome.get('seconds', '-')} s "
              f"{outcome.get('message', '')[:100]}", flush=True)
    return kills


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1, help="sessions (files) run side by side")
    parser.add_argument("--sample", action="store_true", help="only the sample; every one must be killed")
    parser.add_argument("--file", action="append", default=[], choices=list(TARGETS))
    parser.add_argument("--deadline", type=float, default=300.0,
                        help="seconds per mutant before it counts as hung")
    parser.add_argument("--survivors", action="store_true",
                        help="run again only the survivors in the committed data, and update it")
    parser.add_argument("--render", action="store_true",
                        help="render docs/mutation.md from the committed data")
    parser.add_argument("--elsewhere", action="store_true",
                        help="only run the killers of the mutants declared killed by a longer session's test "
                        "(mutation/declared.toml), and record their outcome in the committed data")
    parser.add_argument("--independent", action="store_true",
                        help="run the one-clause mutants of the apps in independent/ instead "
                        "(docs/mutation/independent.json)")
    parser.add_argument("--app", action="append", default=[], choices=["falcon", "fastify"],
                        help="with --independent: only this app's mutants (its rows of the data replaced)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="with --independent: only the mutant of this name (its row replaced)")
    parser.add_argument("--long", action="store_true",
                        help="with --independent: run the survivors in the data again with the suite's "
                        "--long (the checks that wait out clause 9's 30-s default)")
    parser.add_argument("--workdir", type=Path,
                        help="keep the trees and sessions here (default: a temporary one)")
    args = parser.parse_args(argv)

    if args.independent:
        from mutation import independent

        return independent.main(args.app, args.only, args.long)
    if args.render:
        report.PAGE.write_text(report.render(json.loads(report.DATA.read_text())), encoding="utf-8")
        print(f"rendered {report.PAGE.relative_to(REPO)} from {report.DATA.relative_to(REPO)}")
        return 0
    if args.elsewhere:
        with tempfile.TemporaryDirectory(prefix="afterward-mutation-") as tmp:
            committed = json.loads(report.DATA.read_text())
            kills = kill_elsewhere(committed, args.workdir or Path(tmp))
        report.write(report.with_kills(committed, kills))
        print(f"docs: {report.DATA.relative_to(REPO)}, {report.PAGE.relative_to(REPO)}")
        return 0 if all(k["outcome"] == "killed" for k in kills) else 1
    sample = {Key.of(e): e.get("killed_by", "") for e in declared()["sample"]} if args.sample else None
    previous = json.loads(report.DATA.read_text()) if args.survivors else None
    only = set(sample) if sample is not None else None
    if previous is not None:
        only = {Key.of(m) for m in previous["mutants"] if m["outcome"] == "survived"}
    files = args.file or list(TARGETS)
    if only is not None:
        files = [f for f in files if any(k.file == f for k in only)]
    commit = tested_commit()
    with tempfile.TemporaryDirectory(prefix="afterward-mutation-") as tmp:
        workdir = args.workdir or Path(tmp)
        pristine = copy_tree(REPO, workdir / "pristine")
        print(f"{len(files)} file(s), {args.jobs} session(s) at a time; killer: the contract tier, "
              f"deadline {args.deadline:g} s a mutant", flush=True)
        started = time.monotonic()
        shards = {f: 1 if sample is not None else SHARDS.get(f, 1) for f in files}
        sessions = [Session(f, TARGETS[f], workdir, pristine, args.deadline, (i, shards[f]))
                    for f in files for i in range(shards[f])]
        done = run(sessions, args.jobs, only)
        seconds = round(time.monotonic() - started)
        if sample is not None:
            listed = {m["key"] for s in sessions for m in s.mutants.values()}
            missing = [str(k) for k in sample if k not in listed]
            if missing:
                print("sample mutants no longer produced by cosmic-ray (the code changed: pick new ones in "
                      "mutation/declared.toml):\n  " + "\n  ".join(missing), file=sys.stderr)
                return 1
        excluded = [op for s in sessions if s.shard[0] == 0 for op in s.excluded]
        unappliable = [{"file": s.file, **u} for s in sessions if s.shard[0] == 0 for u in s.unappliable]
    mutants = sorted(done.values(), key=lambda m: m["key"])
    errors = [m for m in mutants if m["outcome"] == "error"]
    for m in errors:
        print(f"ERROR {m['key']}: {m['message']}", file=sys.stderr)
    if sample is not None:
        wrong = [f"{m['key']}: {m['outcome']} {m.get('test', '')} ({m.get('phase', '')}), expected "
                 + (f"a failure of {sample[m['key']]} in its call" if sample[m["key"]] else "it to survive")
                 for m in mutants if not as_declared(m, sample[m["key"]])]
        print(f"sample: {len(mutants) - len(wrong)} of {len(sample)} as declared in {seconds} s")
        for line in wrong:
            print("NOT KILLED AS DECLARED " + line, file=sys.stderr)
        return 1 if wrong or len(mutants) != len(sample) else 0
    counts = report.counts(mutants)
    print(f"{len(mutants)} mutants in {seconds} s: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if args.file or errors or len(mutants) != sum(s.to_run() for s in sessions):
        return 1 if errors else 0
    this = {"what": "survivors" if previous else "all", "mutants": len(mutants), "seconds": seconds,
            "jobs": args.jobs, "deadline_s": args.deadline, "commit": commit}
    result = (report.rerun(previous, mutants, this) if previous is not None
              else report.data(mutants, excluded, unappliable, this))
    with tempfile.TemporaryDirectory(prefix="afterward-mutation-") as tmp:
        kills = kill_elsewhere(result, args.workdir or Path(tmp))
    report.write(report.with_kills(result, kills))
    print(f"docs: {report.DATA.relative_to(REPO)}, {report.PAGE.relative_to(REPO)}")
    return 0 if all(k["outcome"] == "killed" for k in kills) else 1


if __name__ == "__main__":
    sys.exit(main())
