"""Reading `docs/bench/bench.json`: pairs, their runs, and numbers taken side by side.

Every per-pair number is the median over runs; every ratio or difference is taken inside
one run, between numbers measured side by side, and then its median.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The full run's results, committed beside the page they make.
DATA = Path(__file__).resolve().parent.parent / "docs" / "bench" / "bench.json"

Data = dict[str, Any]
Row = dict[str, Any]
Pair = tuple[str, str]
Get = Callable[[Row], float]


def pairs(data: Data) -> list[Pair]:
    seen: dict[Pair, None] = {}
    for r in data["results"]:
        seen[(r["framework"], r["server"])] = None
    return list(seen)


def framework_pairs(data: Data) -> list[Pair]:
    return [p for p in pairs(data) if p[0] != "bare"]


def runs(data: Data, framework: str, server: str) -> list[Row]:
    return [r for r in data["results"] if (r["framework"], r["server"]) == (framework, server)]


def values(data: Data, pair: Pair, get: Get) -> list[float]:
    return [get(r) for r in runs(data, *pair)]


def ratios(data: Data, pair: Pair, get: Get, base: Get, base_pair: Pair | None = None) -> list[float]:
    """get(run) / base(run of base_pair, same run number): side by side, then over runs."""
    mine = {r["run"]: r for r in runs(data, *pair)}
    theirs = {r["run"]: r for r in runs(data, *(base_pair or pair))}
    return [get(mine[n]) / base(theirs[n]) for n in sorted(mine) if n in theirs and base(theirs[n])]


def differences(data: Data, pair: Pair, get: Get, base: Get) -> list[float]:
    """get(run) - base(same run): side by side, then over runs."""
    return [get(r) - base(r) for r in runs(data, *pair)]


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def rps(endpoint: str) -> Get:
    return lambda r: r[endpoint]["rps"]


def cell(*keys: str) -> Get:
    """The number at r[k1][k2]...: `cell("saturation", "tasks_per_s")`."""
    def get(r: Row) -> float:
        for k in keys:
            r = r[k]
        return r  # type: ignore[return-value]
    return get
