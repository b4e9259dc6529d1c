"""One cosmic-ray session per mutated file, in a copy of the tree of its own.

cosmic-ray rewrites the file on disk, runs the test command, and puts the file back; the
servers the command starts import whatever is on disk. Each session works in its own
copy, so sessions can run side by side and the tree being tested is never rewritten.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosmic_ray.commands import init
from cosmic_ray.mutating import mutate_code
from cosmic_ray.plugins import get_operator
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import WorkerOutcome, WorkResult

from mutation.mutants import Key, changed_lines, diff, keys_for
from mutation.targets import EDGES_FIRST, EXCLUDED_OPERATORS

__all__ = ["IGNORED", "Session", "copy_tree"]

#: Not copied into a session's tree: caches, environments, reports, history.
IGNORED = shutil.ignore_patterns(".git", ".nox", ".venv", "__pycache__", "*.pyc", ".pytest_cache",
                                 ".hypothesis", "reports", "docs")
#: The last line `python -m mutation.kill` prints.
VERDICT = re.compile(r"^mutation-kill: (?P<what>killed by|survived|timeout|error)(?P<rest>.*)$", re.M)
KILLED = re.compile(r" (?P<test>\S+) \((?P<phase>\w+)\) in (?P<seconds>[\d.]+) s: (?P<message>.*)")
SECONDS = re.compile(r"(?:in|after) (?P<seconds>[\d.]+) s")


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=IGNORED)
    return target


@dataclass
class Session:
    """The mutants of one file and the cosmic-ray session that runs them."""

    file: str
    framework: str
    workdir: Path
    pristine: Path
    deadline: float
    #: (i, n): this session runs every n-th mutant of the file, from the i-th, so that a big file's
    #: mutants can be spread over sessions that run side by side.
    shard: tuple[int, int] = (0, 1)
    #: job id -> what the page needs to know of the mutant before it runs
    mutants: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the operators of the mutants left out (EXCLUDED_OPERATORS), one entry per mutant
    excluded: list[str] = field(default_factory=list)
    #: mutations cosmic-ray lists but fails to make (its operator raises on this code)
    unappliable: list[dict[str, Any]] = field(default_factory=list)

    @property
    def slug(self) -> str:
        slug = self.file.replace("/", "_").removesuffix(".py")
        return slug if self.shard[1] == 1 else f"{slug}.{self.shard[0]}"

    @property
    def tree(self) -> Path:
        return self.workdir / self.slug

    @property
    def config(self) -> Path:
        return self.workdir / f"{self.slug}.toml"

    @property
    def db(self) -> Path:
        return self.workdir / f"{self.slug}.sqlite"

    def command(self) -> str:
        return (f"{sys.executable} -m mutation.kill --framework {self.framework} --pristine {self.pristine}"
                f" --deadline {self.deadline:g}" + (" --edges-first" if self.file in EDGES_FIRST else ""))

    def prepare(self, only: set[Key] | None = None) -> None:
        """Copy the tree, let cosmic-ray list the mutants, name each by its change, skip the
        excluded operators (and, with `only`, every mutant not in it)."""
        copy_tree(self.pristine, self.tree)
        self.config.write_text("\n".join([
            "[cosmic-ray]",
            f'module-path = "{self.file}"',
            f"timeout = {self.deadline + 60:g}",  # a backstop: the command keeps its own deadline
            "excluded-modules = []",
            f'test-command = "{self.command()}"',
            "[cosmic-ray.distributor]",
            'name = "local"',
            "",
        ]), encoding="utf-8")
        with use_db(str(self.db), WorkDB.Mode.create) as db:
            # cosmic-ray's own `init` and operators filter, in this process: a command each would
            # pay an interpreter's start-up per file. The absolute path lets `exec` run from anywhere.
            init([self.tree / self.file], db, {})
            excluded = re.compile("|".join(f"(?:{pattern})" for pattern in EXCLUDED_OPERATORS))
            for item in db.pending_work_items:
                if excluded.match(item.mutations[0].operator_name):
                    db.set_result(item.job_id, WorkResult(output="Filtered operator",
                                                          worker_outcome=WorkerOutcome.SKIPPED))
        source = (self.tree / self.file).read_text(encoding="utf-8")
        with use_db(str(self.db), WorkDB.Mode.open) as db:
            items = sorted(db.work_items,
                           key=lambda i: (i.mutations[0].start_pos, i.mutations[0].operator_name))
            skipped = {item.job_id for item, _ in db.completed_work_items}
            changes, info = [], []
            # a file's shards make the same mutants: one thread makes them, the others reuse them
            with _MUTATING.setdefault(self.file, threading.Lock()):
                for item in items:
                    (spec,) = item.mutations
                    if item.job_id in skipped:  # an excluded operator's: never named, never run
                        self.excluded.append(spec.operator_name)
                        continue
                    try:
                        mutated = _mutated(source, spec.operator_name, spec.occurrence)
                    except Exception as error:  # cosmic-ray's own failure to apply it: reported, never run
                        db.set_result(item.job_id, WorkResult(output=f"cannot apply: {error!r}",
                                                              worker_outcome=WorkerOutcome.SKIPPED))
                        self.unappliable.append({"operator": spec.operator_name, "line": spec.start_pos[0],
                                                 "error": repr(error)})
                        continue
                    removed, added, line = changed_lines(source, mutated)
                    changes.append((self.file, removed, added))
                    info.append({"job_id": item.job_id, "line": line, "operator": spec.operator_name,
                                 "function": spec.definition_name, "diff": diff(source, mutated, self.file)})
            kept = 0
            for key, mutant in zip(keys_for(changes), info, strict=True):
                mutant["key"] = key
                elsewhere = only is not None and key not in only
                if not elsewhere:
                    elsewhere = kept % self.shard[1] != self.shard[0]
                    kept += 1
                if elsewhere:  # another shard's, or not in the sample: skipped here
                    db.set_result(mutant["job_id"], WorkResult(output="not in this session",
                                                               worker_outcome=WorkerOutcome.SKIPPED))
                    mutant["elsewhere"] = True
                self.mutants[mutant["job_id"]] = mutant

    def to_run(self) -> int:
        return sum(not m.get("elsewhere") for m in self.mutants.values())

    def execute(self) -> subprocess.CompletedProcess[str]:
        return self._cosmic_ray("exec", str(self.config), str(self.db), check=False)

    def results(self) -> dict[str, dict[str, Any]]:
        """Job id -> outcome of every mutant run so far (read while the session runs, too)."""
        out = {}
        with use_db(str(self.db), WorkDB.Mode.open) as db:
            for item, result in db.completed_work_items:
                mutant = self.mutants.get(item.job_id)
                if mutant is None or mutant.get("elsewhere"):
                    continue
                out[item.job_id] = {**mutant, **verdict(result)}
        return out

    def _cosmic_ray(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("cosmic-ray", *args, check=check)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        script = Path(sys.executable).parent / tool
        env = {"PYTHONPATH": str(self.tree)}
        return subprocess.run([str(script), *args], cwd=self.tree, check=check, text=True,
                              capture_output=True, env={**os.environ, **env})


_MUTATING: dict[str, threading.Lock] = {}


@functools.lru_cache(maxsize=4096)
def _mutated(source: str, operator: str, occurrence: int) -> str:
    return mutate_code(source, get_operator(operator)(), occurrence)


def verdict(result: WorkResult) -> dict[str, Any]:
    """What `python -m mutation.kill` said about a mutant, from the output cosmic-ray kept."""
    output = result.output or ""
    if result.worker_outcome != WorkerOutcome.NORMAL:
        return {"outcome": "error", "message": f"cosmic-ray: {result.worker_outcome}: {output[-300:]}"}
    if output == "timeout":  # cosmic-ray's own backstop: the command outlived its deadline
        return {"outcome": "timeout", "message": "the test command outlived its deadline and was killed"}
    found = list(VERDICT.finditer(output))
    if not found:
        return {"outcome": "error", "message": output.strip()[-300:]}
    what, rest = found[-1]["what"], found[-1]["rest"]
    seconds = SECONDS.search(rest)
    out: dict[str, Any] = {"seconds": float(seconds["seconds"]) if seconds else None}
    if what == "killed by":
        killed = KILLED.match(rest)
        if killed is None:
            return {"outcome": "error", "message": rest}
        return {**out, "outcome": "killed", "test": killed["test"], "phase": killed["phase"],
                "message": killed["message"]}
    if what == "timeout":
        return {**out, "outcome": "timeout", "message": f"deadline passed{rest}"}
    if what == "survived":
        return {**out, "outcome": "survived"}
    return {"outcome": "error", "message": rest}
