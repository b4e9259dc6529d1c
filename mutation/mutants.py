"""A mutant as this project names it: by the lines it changes, not by cosmic-ray's counters.

cosmic-ray identifies a mutation by file, operator and occurrence (the n-th place the
operator applies), which shifts whenever the file gains a line the operator matches.
The key here is the file, the changed lines as they read before and after (stripped),
and which of identical changes it is: a re-run after unrelated edits maps each declared
reason to the same mutant.
"""

from __future__ import annotations

import difflib
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DECLARED", "Key", "changed_lines", "declared", "diff", "keys_for"]

#: The mutants declared equivalent (with why) and the sample CI runs.
DECLARED = Path(__file__).resolve().parent / "declared.toml"


@dataclass(frozen=True, order=True)
class Key:
    file: str
    removed: str
    added: str
    nth: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "removed": self.removed, "added": self.added, "nth": self.nth}

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Key:
        return cls(entry["file"], entry["removed"], entry["added"], int(entry.get("nth", 1)))

    def __str__(self) -> str:
        nth = f" (#{self.nth})" if self.nth > 1 else ""
        return f"{self.file}: `{self.removed}` -> `{self.added}`{nth}"


def changed_lines(original: str, mutated: str) -> tuple[str, str, int]:
    """The removed and added lines (stripped, joined with ` / `) and the first changed line."""
    matcher = difflib.SequenceMatcher(a=original.splitlines(), b=mutated.splitlines(), autojunk=False)
    removed: list[str] = []
    added: list[str] = []
    first = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        first = first or i1 + 1
        removed += [line.strip() for line in original.splitlines()[i1:i2]]
        added += [line.strip() for line in mutated.splitlines()[j1:j2]]
    return " / ".join(removed), " / ".join(added), first


def diff(original: str, mutated: str, path: str) -> str:
    """A unified diff with one line of context, for the page."""
    lines = difflib.unified_diff(original.splitlines(), mutated.splitlines(), f"a/{path}", f"b/{path}",
                                 n=1, lineterm="")
    return "\n".join(list(lines)[2:])  # the hunks; the file is named beside them


def keys_for(changes: list[tuple[str, str, str]]) -> list[Key]:
    """Keys for (file, removed, added) changes in a stable order, numbering repeats."""
    seen: Counter[tuple[str, str, str]] = Counter()
    keys = []
    for change in changes:
        seen[change] += 1
        keys.append(Key(*change, nth=seen[change]))
    return keys


def declared(path: Path = DECLARED) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))
