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
#: The instruction tier's endpoints: no task, a no-op `async def` task, a no-op `def` task, the
#: spec's notification (a `def` task).
ENDPOINTS = ("none", "async-noop", "sync-noop", "notify")
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


# -- the wall and CPU tier, interleaved (`data["rounds"]`) -------------------------------

def round_pairs(data: Data) -> list[Pair]:
    return list(dict.fromkeys((r["framework"], r["server"]) for r in data.get("rounds", [])))


def round_cells(data: Data, pair: Pair) -> dict[int, dict[str, Row]]:
    """round -> endpoint -> the cell measured in that round."""
    out: dict[int, dict[str, Row]] = {}
    for r in data.get("rounds", []):
        if (r["framework"], r["server"]) == pair:
            out.setdefault(r["round"], {})[r["endpoint"]] = r
    return out


def per_round(data: Data, pair: Pair, value: Callable[[dict[str, Row], dict[str, Row]], float],
              base_pair: Pair | None = None) -> list[float]:
    """`value(cells of pair, cells of base_pair)` in each round both were measured in."""
    mine, theirs = round_cells(data, pair), round_cells(data, base_pair or pair)
    return [value(mine[n], theirs[n]) for n in sorted(mine) if n in theirs]


def round_ratios(data: Data, pair: Pair, endpoint: str, base: str = "none", key: str = "rps",
                 base_pair: Pair | None = None) -> list[float]:
    """`key` of `endpoint` over `key` of `base` (of `base_pair`, or the same pair), round by round."""
    return per_round(data, pair, lambda m, t: m[endpoint][key] / t[base][key], base_pair)


def round_added(data: Data, pair: Pair, endpoint: str, key: str = "cpu_us_per_request") -> list[float]:
    """What the task adds: `key` of `endpoint` minus `key` of `/none`, round by round."""
    return per_round(data, pair, lambda m, _: m[endpoint][key] - m["none"][key])


def round_over_floor(data: Data, pair: Pair, endpoint: str, key: str = "cpu_us_per_request") -> list[float]:
    """What the framework's task adds beyond the bare app's on the same server, round by round."""
    return per_round(data, pair, lambda m, t: (m[endpoint][key] - m["none"][key])
                     - (t[endpoint][key] - t["none"][key]), ("bare", pair[1]))


# -- the instruction tier (`data["instructions"]`) ---------------------------------------

def instruction_runs(data: Data, pair: Pair) -> dict[int, Row]:
    return {r["run"]: r for r in data["instructions"]["results"] if (r["framework"], r["server"]) == pair}


def instruction_pairs(data: Data) -> list[Pair]:
    return list(dict.fromkeys((r["framework"], r["server"]) for r in data["instructions"]["results"]))


def instr(data: Data, pair: Pair, endpoint: str) -> list[float]:
    """Instructions per request on `endpoint`, one per run."""
    return [r[endpoint]["per_request"] for _, r in sorted(instruction_runs(data, pair).items())]


def instr_added(data: Data, pair: Pair, endpoint: str) -> list[float]:
    """What the task adds to a request, in instructions: `endpoint` minus `/none` of the same run."""
    return [r[endpoint]["per_request"] - r["none"]["per_request"]
            for _, r in sorted(instruction_runs(data, pair).items())]


def instr_over_floor(data: Data, pair: Pair, endpoint: str) -> list[float]:
    """What the framework's task adds beyond the floor (the bare app's task, same server, same run)."""
    floor = dict(zip(sorted(instruction_runs(data, ("bare", pair[1]))),
                     instr_added(data, ("bare", pair[1]), endpoint), strict=True))
    mine = dict(zip(sorted(instruction_runs(data, pair)), instr_added(data, pair, endpoint), strict=True))
    return [mine[n] - floor[n] for n in sorted(mine) if n in floor]


def instr_ratios(data: Data, pair: Pair, endpoint: str, base_pair: Pair,
                 base: str | None = None) -> list[float]:
    """Instructions per request of `pair` over `base_pair`'s (`base`, or the same endpoint), run by run."""
    mine, theirs = instruction_runs(data, pair), instruction_runs(data, base_pair)
    return [mine[n][endpoint]["per_request"] / theirs[n][base or endpoint]["per_request"]
            for n in sorted(mine) if n in theirs]


def figures(data: dict[str, Any]) -> dict[tuple[str, str, str], float]:
    """(framework, server, endpoint) -> the median over runs of its instructions per request, from
    one run of `python -m bench.instructions` (bench.json's `instructions`)."""
    rows: dict[tuple[str, str, str], list[float]] = {}
    for r in data["results"]:
        for e in ENDPOINTS:
            if e in r:
                rows.setdefault((r["framework"], r["server"], e), []).append(r[e]["per_request"])
    return {k: statistics.median(v) for k, v in rows.items()}


def run_differences(data: dict[str, Any], other: dict[str, Any]) -> dict[tuple[str, str, str], float]:
    """Per figure measured in both, how far `data`'s is from `other`'s, either way (a fraction)."""
    mine, theirs = figures(data), figures(other.get("instructions", other))
    return {k: abs(mine[k] / theirs[k] - 1) for k in mine if k in theirs}


def largest_difference(found: dict[tuple[str, str, str], float]) -> str:
    worst = max(found, key=lambda k: found[k])
    return (f"{found[worst]:.2%} at most ({worst[0]}-{worst[1]} /{worst[2]}), "
            f"{statistics.median(found.values()):.2%} for the median of {len(found)} figures")
