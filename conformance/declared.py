"""The declared table: what each framework natively does, per server, with its source.

`conformance/expected.toml` holds, for every property, its meaning and one cell per
framework (`value`, `why`, `source`), optionally overridden per server
(`[prop."quart.hypercorn"]`). A cell may instead say `na = "reason"` (the property makes
no sense there) or `by_construction = "reason"` (the probe's own code decides the value,
so no observation could differ): neither is measured, both are reported with the reason.

Besides the value, a property may declare `also`: further observations the test must
report and that are compared like the value (`also = { exit_code = { uvicorn = -15,
hypercorn = 0 } }`, a plain value for every server or a table per server; a cell's own
`also` wins), and `tolerance`: for a numeric value, how far an observation may lie from
the declared one (the resolution of the method), reported beside the observation.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["Cell", "DECLARED", "Property", "cell", "properties"]

DECLARED = Path(__file__).with_name("expected.toml")
_META = ("meaning", "values", "frameworks", "also", "tolerance")


@dataclass(frozen=True)
class Cell:
    value: Any = None
    why: str = ""
    source: str = ""
    na: str = ""
    by_construction: str = ""
    also: dict[str, Any] = field(default_factory=dict)
    tolerance: float = 0.0

    @property
    def measured(self) -> bool:
        return not (self.na or self.by_construction)

    @property
    def unmeasured_reason(self) -> str:
        return f"n/a: {self.na}" if self.na else f"by construction: {self.by_construction}"


@dataclass(frozen=True)
class Property:
    name: str
    meaning: str
    values: str
    table: dict[str, Any]
    frameworks: tuple[str, ...] = ()  # empty: all
    also: dict[str, Any] = field(default_factory=dict)
    tolerance: float = 0.0

    def cell(self, framework: str, server: str) -> Cell | None:
        raw = self.table.get(f"{framework}.{server}", self.table.get(framework))
        if raw is None:
            return None
        also = {k: v.get(server) if isinstance(v, dict) else v for k, v in self.also.items()}
        also = {k: v for k, v in {**also, **raw.get("also", {})}.items() if v is not None}
        return Cell(raw.get("value"), raw.get("why", ""), raw.get("source", ""), raw.get("na", ""),
                    raw.get("by_construction", ""), also, float(raw.get("tolerance", self.tolerance)))


@cache
def properties() -> dict[str, Property]:
    data = tomllib.loads(DECLARED.read_text(encoding="utf-8"))
    out = {}
    for name, body in data.items():
        meta = {k: body.pop(k) for k in _META if k in body}
        out[name] = Property(name, meta.get("meaning", ""), meta.get("values", ""), body,
                             tuple(meta.get("frameworks", ())), meta.get("also", {}),
                             float(meta.get("tolerance", 0.0)))
    return out


def cell(prop: str, framework: str, server: str) -> Cell | None:
    return properties()[prop].cell(framework, server)
