"""The declared table: what each framework natively does, per server, with its source.

`conformance/expected.toml` holds, for every property, its meaning and its cells (`value`,
`why`, `source`), each under an address (`conformance/address.py`): `quart`, `"*.hypercorn"`,
`"quart.hypercorn"`, `"*@3.12"`; the most specific address that matches a cell is its value.
A cell may instead say `na = "reason"` (the property makes no sense there) or
`by_construction = "reason"` (the probe's own code decides the value, so no observation could
differ): neither is measured, both are reported with the reason.

Two kinds of `n/a` are not written as cells but derived from the records: a property of a
protocol (`protocol = "h2c"`) on a server whose record does not speak it, and a property of a
framework's own API (`frameworks = ["litestar"]`, `feature = "run_in_task_group"`) elsewhere.

Besides the value, a property may declare `also`: further observations the test must
report and that are compared like the value (`also = { exit_code = { uvicorn = -15,
hypercorn = 0 } }`, a plain value for every server or a table per server; a cell's own
`also` wins), and `tolerance`: for a numeric value, how far an observation may lie from
the declared one (the resolution of the method), reported beside the observation.
"""

from __future__ import annotations

import builtins
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from packaging.version import Version

from conformance.address import ANY, Address, current_python, expand, pick
from shared.axes import FRAMEWORKS, PYTHONS, RUNNABLE

__all__ = [
    "CHANGES",
    "Cell",
    "Change",
    "DECLARED",
    "Property",
    "at_release",
    "at_releases",
    "cell",
    "changes",
    "changes_for",
    "installed",
    "properties",
]

DECLARED = Path(__file__).with_name("expected.toml")
#: The Python a page's main value is for; cells on other Pythons are shown where they differ.
DEFAULT_PYTHON = next(iter(PYTHONS))
CHANGES = Path(__file__).with_name("changes.toml")
_META = ("meaning", "values", "frameworks", "feature", "protocol", "also", "tolerance", "needs")


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
    feature: str = ""  # what of `frameworks` this is about, for the others' `n/a`
    protocol: str = ""  # the protocol it is measured over, when not HTTP/1.1
    #: What of a process manager it is about: `manager` (its supervisor) or `recycle` (its request
    #: limit); `n/a` on a lone server, and for `recycle` on a manager with no request limit.
    needs: str = ""

    def unavailable(self, framework: str, server: str) -> Cell | None:
        """The `n/a` the records decide: a protocol the server does not speak, an API the
        framework does not have."""
        record = RUNNABLE.get(server)
        if self.protocol and record is not None and not record.speaks(self.protocol):
            return Cell(na=f"no {self.protocol}: {record.no_h2c}", source=record.no_h2c_source)
        if self.needs and record is not None and not record.manager:
            return Cell(na="a lone server: no process manager supervises its process (`nox -s managers`)")
        if self.needs == "recycle" and record is not None and not record.recycle_after_one:
            return Cell(na=f"no request limit: {record.no_recycle}", source=record.no_recycle_source)
        if self.frameworks and framework in FRAMEWORKS and framework not in self.frameworks:
            owners = " and ".join(FRAMEWORKS[f].title for f in self.frameworks)
            return Cell(na=f"{owners} feature ({self.feature or self.name})")
        return None

    def cell(self, framework: str, server: str, python: str | None = None) -> Cell | None:
        """The declared cell on `python`; on the axis' first Python when none is named, so that a
        page reads the same whichever Python renders it (`cell()` below takes the running one)."""
        python = python or DEFAULT_PYTHON
        derived = self.unavailable(framework, server)
        if derived is not None:
            return derived
        raw = pick(self.table, framework, server, python, where=f"{DECLARED.name} [{self.name}]")
        if raw is None:
            return None
        base = record.base if (record := RUNNABLE.get(server)) is not None else ""
        also = {k: v.get(server, v.get(base)) if isinstance(v, dict) else v for k, v in self.also.items()}
        also = {k: v for k, v in {**also, **raw.get("also", {})}.items() if v is not None}
        return Cell(
            raw.get("value"),
            raw.get("why", ""),
            raw.get("source", ""),
            raw.get("na", ""),
            raw.get("by_construction", ""),
            also,
            float(raw.get("tolerance", self.tolerance)),
        )


@cache
def properties() -> dict[str, Property]:
    data = tomllib.loads(DECLARED.read_text(encoding="utf-8"))
    out = {}
    for name, body in data.items():
        meta = {k: body.pop(k) for k in _META if k in body}
        out[name] = Property(
            name,
            meta.get("meaning", ""),
            meta.get("values", ""),
            body,
            tuple(meta.get("frameworks", ())),
            meta.get("also", {}),
            float(meta.get("tolerance", 0.0)),
            meta.get("feature", ""),
            meta.get("protocol", ""),
            meta.get("needs", ""),
        )
    return out


@dataclass(frozen=True)
class Change:
    """From `release` of `package` on, `property` is `new` at the addresses `at` (it was `old`);
    for the observation named by `also` instead of the value. `frameworks` and `servers` are the
    names the addresses cover (`servers` empty: every one)."""

    property: str
    frameworks: tuple[str, ...]
    package: str
    release: str
    old: Any
    new: Any
    why: str
    source: str
    servers: tuple[str, ...] = ()
    also: str = ""
    at: tuple[Address, ...] = ()

    def concerns(self, framework: str, server: str | None = None, python: str | None = None) -> bool:
        """Does the change apply to this framework (on this server and Python, when given)?"""
        return any(
            a.framework in (ANY, framework)
            and (server is None or a.server in (ANY, server))
            and (python is None or a.python in (ANY, python))
            for a in self.at
        )

    # `builtins.property`: in this class body, `property` names the field above.
    @builtins.property
    def old_na(self) -> str:
        return self.old["na"] if isinstance(self.old, dict) and "na" in self.old else ""

    @builtins.property
    def new_na(self) -> str:
        return self.new["na"] if isinstance(self.new, dict) and "na" in self.new else ""


@cache
def changes(path: Path = CHANGES) -> tuple[Change, ...]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for c in data.get("change", []):
        at = tuple(expand(c["at"], f"{path.name} [{c['property']}] at"))
        frameworks = (
            tuple(FRAMEWORKS)
            if any(a.framework == ANY for a in at)
            else tuple(dict.fromkeys(a.framework for a in at))
        )
        servers = () if any(a.server == ANY for a in at) else tuple(dict.fromkeys(a.server for a in at))
        out.append(
            Change(
                c["property"],
                frameworks,
                c["package"],
                c["release"],
                c["old"],
                c["new"],
                c["why"],
                c["source"],
                servers,
                c.get("also", ""),
                at,
            )
        )
    return tuple(out)


def changes_for(
    prop: str,
    framework: str,
    table: tuple[Change, ...] | None = None,
    server: str | None = None,
    python: str | None = None,
) -> list[Change]:
    """The changes of one property for one framework (on one server and Python, if given), oldest
    release first."""
    found = [
        c
        for c in (changes() if table is None else table)
        if c.property == prop and c.concerns(framework, server, python)
    ]
    return sorted(found, key=lambda c: Version(c.release))


@cache
def installed(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def at_release(base: Cell | None, steps: list[Change], version: str | None) -> Cell | None:
    """`base` (the newest releases' cell) as it was at `version` of the steps' package."""
    if base is None or version is None:
        return base
    for key in dict.fromkeys(s.also for s in steps if s.also):  # an observation besides the value
        step = next((s for s in steps if s.also == key and Version(version) < Version(s.release)), None)
        if step is not None:
            base = replace(base, also={**base.also, key: step.old})
    for step in steps:
        if not step.also and Version(version) < Version(step.release):
            why = f"Before {step.package} {step.release}: {step.why}"
            if step.old_na:
                return Cell(na=f"{step.old_na} (before {step.package} {step.release})", source=step.source)
            return Cell(step.old, why, step.source, also=base.also, tolerance=base.tolerance)
    return base


def at_releases(base: Cell | None, steps: list[Change], versions: Mapping[str, str | None]) -> Cell | None:
    """`base` as it was at the installed `versions` of the steps' packages (package -> release)."""
    for package in dict.fromkeys(s.package for s in steps):
        base = at_release(base, [s for s in steps if s.package == package], versions.get(package))
    return base


def cell(
    prop: str, framework: str, server: str, table: tuple[Change, ...] | None = None, python: str | None = None
) -> Cell | None:
    """The declared cell for the releases installed here, on this Python unless another is named
    (the table's own for the newest releases)."""
    python = python or current_python()
    steps = changes_for(prop, framework, table, server, python)
    base = properties()[prop].cell(framework, server, python)
    return at_releases(base, steps, {s.package: installed(s.package) for s in steps}) if steps else base
