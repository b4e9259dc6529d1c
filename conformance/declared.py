"""The declared table: what each framework natively does, per server, with its source.

`conformance/expected.toml` holds, for every property, its meaning and one cell per
framework (`value`, `why`, `source`), optionally overridden per server
(`[prop."quart.hypercorn"]`). A cell may instead say `na = "reason"`: the property makes
no sense there, and is not measured.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["Cell", "DECLARED", "Property", "cell", "properties"]

DECLARED = Path(__file__).with_name("expected.toml")


@dataclass(frozen=True)
class Cell:
    value: Any = None
    why: str = ""
    source: str = ""
    na: str = ""


@dataclass(frozen=True)
class Property:
    name: str
    meaning: str
    values: str
    table: dict[str, Any]
    frameworks: tuple[str, ...] = ()  # empty: all

    def cell(self, framework: str, server: str) -> Cell | None:
        raw = self.table.get(f"{framework}.{server}", self.table.get(framework))
        if raw is None:
            return None
        return Cell(raw.get("value"), raw.get("why", ""), raw.get("source", ""), raw.get("na", ""))


@cache
def properties() -> dict[str, Property]:
    data = tomllib.loads(DECLARED.read_text(encoding="utf-8"))
    out = {}
    for name, body in data.items():
        meta = {k: body.pop(k) for k in ("meaning", "values", "frameworks") if k in body}
        out[name] = Property(name, meta.get("meaning", ""), meta.get("values", ""), body,
                             tuple(meta.get("frameworks", ())))
    return out


def cell(prop: str, framework: str, server: str) -> Cell | None:
    return properties()[prop].cell(framework, server)
