"""The survivors declared `kind = "elsewhere"`: each mutant made in a copy of the tree of its own,
and the test of a longer session declared to kill it (`killer`) run against it on one pair.

The contract tier lets these mutants through because seeing them costs what it does not pay (a
30-s wait, a broker). `python -m mutation --elsewhere` (and every full or survivors' run, at
its end) proves the declaration: the mutant is made from its name (the `nth` line of the file
reading `removed` then reads `added`, and the change must be the one cosmic-ray made: the
same diff), the killer runs from that tree, so its servers and workers import the mutant, and
it must fail in its call. The outcome goes into docs/mutation/mutation.json; the page counts a
mutant as killed elsewhere only when that run killed it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mutation.mutants import Key, diff
from mutation.session import copy_tree

__all__ = ["KILLER_PAIR", "make", "run_killer"]

#: The pair each killer runs on: the contract tier's killer for `shared/` (mutation/targets.py).
KILLER_PAIR = ("fastapi", "uvicorn")
#: pytest's summary line, e.g. "1 failed in 34.2s" or "1 passed, 3 deselected in 30.1s".
SUMMARY = re.compile(r"^=*\s*(?P<counts>(?:\d+ \w+(?:, )?)+) in (?P<seconds>[\d.]+)s", re.M)


def make(source: str, key: Key) -> str:
    """`source` with the named one-line change made; ValueError when it names no such line."""
    if " / " in key.removed or " / " in key.added or not key.removed:
        raise ValueError(f"{key}: only a change of one line can be made from its name")
    lines = source.splitlines(keepends=True)
    found = [n for n, line in enumerate(lines) if line.strip() == key.removed]
    if len(found) < key.nth:
        raise ValueError(f"{key}: {key.file} has {len(found)} such line(s), not {key.nth}")
    n = found[key.nth - 1]
    indent = lines[n][: len(lines[n]) - len(lines[n].lstrip())]
    lines[n] = f"{indent}{key.added}\n"
    return "".join(lines)


def run_killer(entry: dict[str, Any], mutant: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Make `entry`'s mutant in a copy of the tree and run its killer there: the outcome."""
    key = Key.of(entry)
    repo = Path(__file__).resolve().parent.parent
    tree = copy_tree(repo, workdir / f"elsewhere-{key.file.replace('/', '_')}-{key.nth}-{abs(hash(key))}")
    path = tree / key.file
    source = path.read_text(encoding="utf-8")
    try:
        mutated = make(source, key)
    except ValueError as error:
        return {"outcome": "error", "message": str(error)}
    if diff(source, mutated, key.file) != mutant["diff"]:
        return {"outcome": "error", "message": "the change made from the name is not the one cosmic-ray made"}
    path.write_text(mutated, encoding="utf-8")
    node = entry["killer"]
    framework, server = KILLER_PAIR
    cmd = [sys.executable, "-m", "pytest", node, "-p", "no:cacheprovider", "-q", "-x",
           "--framework", framework, "--server", server, "-o", f"testpaths={node.partition('/')[0]}"]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.monotonic()
    run = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=900)
    seconds = round(time.monotonic() - started, 1)
    summary = SUMMARY.search(run.stdout)
    counts = summary["counts"] if summary else ""
    tail = run.stdout.strip().splitlines()[-1:] or [run.stderr.strip()[-200:]]
    if run.returncode == 1 and re.search(r"\b1 failed\b", counts) and "error" not in counts:
        failure = next((line for line in run.stdout.splitlines() if line.startswith("E ")), "").strip()
        return {"outcome": "killed", "seconds": seconds, "message": failure[:200]}
    if run.returncode == 0 and re.search(r"\b1 passed\b", counts):
        return {"outcome": "survived", "seconds": seconds, "message": tail[0][:200]}
    return {"outcome": "error", "seconds": seconds,
            "message": f"exit {run.returncode}, not one test failing in its call: {tail[0][:200]}"}
