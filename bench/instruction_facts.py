"""The numbers the prose cites from the stable tier (`data["instructions"]`) and from the
interleaved rounds (`data["rounds"]`), by name.

Per pair, an instruction figure is the median over runs (what a task adds taken inside a
run); a fact over several pairs is the range of those medians, per framework. Every ratio
the prose gives carries its spread (instructions: the range over runs) or its interval
(rounds: bootstrap 95%).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from bench.data import (
    Data,
    Pair,
    instr,
    instr_added,
    instr_over_floor,
    instr_ratios,
    instruction_pairs,
    round_added,
    round_pairs,
    run_differences,
)
from bench.instruction_report import spreads
from bench.rounds_report import task_interval
from bench.stats import Interval, interval
from bench.template import Contradicted, Facts, and_list, span

facts = Facts()

NAMES = {"fastapi": "FastAPI", "starlette": "Starlette", "litestar": "Litestar", "quart": "Quart"}


def fw_pairs(data: Data) -> list[Pair]:
    return [p for p in instruction_pairs(data) if p[0] != "bare"]


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def kilo_span(xs: list[float], sign: bool = True) -> str:
    return span([x / 1000 for x in xs], "{:+.1f}" if sign else "{:.1f}", "k")


def by_framework(data: Data, value: Callable[[Pair], float], show: Callable[[list[float]], str]) -> str:
    """"FastAPI a to b, Starlette ..." over each framework's servers, in the records' order."""
    frameworks = list(dict.fromkeys(p[0] for p in fw_pairs(data)))
    return ", ".join(f"{NAMES[f]} {show([value(p) for p in fw_pairs(data) if p[0] == f])}"
                     for f in frameworks)


@facts.fact
def instr_runs(data: Data) -> str:
    return str(data["instructions"]["size"]["runs"])


@facts.fact
def instr_agreement(data: Data) -> str:
    """How far the runs of the tier's figures are apart: at most, and for the median figure."""
    found = spreads(data)
    return f"{max(found.values()):.1%} (the median figure {statistics.median(found.values()):.1%})"


@facts.fact
def instr_consecutive(data: Data) -> str:
    """How far this full run's figures are from the previous full run's, at most (a clause)."""
    ins = data["instructions"]
    if "previous" not in ins:
        return ""
    worst = max(run_differences(ins, ins["previous"]).values())
    return f"; two consecutive full runs differ by at most {worst:.1%}"


@facts.fact
def async_added_by_framework(data: Data) -> str:
    """Each framework's range over servers of what a no-op `async def` task adds, and as a share."""
    return by_framework(data, lambda p: med(instr_added(data, p, "async-noop")), kilo_span)


@facts.fact
def sync_added_by_framework(data: Data) -> str:
    return by_framework(data, lambda p: med(instr_added(data, p, "sync-noop")), kilo_span)


def shares(data: Data, endpoint: str) -> list[float]:
    return [med(instr_added(data, p, endpoint)) / med(instr(data, p, "none")) for p in fw_pairs(data)]


@facts.fact
def async_instr_share(data: Data) -> str:
    return span([100 * x for x in shares(data, "async-noop")], "{:+.0f}", "%")


@facts.fact
def sync_instr_share(data: Data) -> str:
    return span([100 * x for x in shares(data, "sync-noop")], "{:+.0f}", "%")


def floor(data: Data, endpoint: str) -> list[float]:
    return [med(instr_added(data, p, endpoint)) for p in instruction_pairs(data) if p[0] == "bare"]


@facts.fact
def async_floor(data: Data) -> str:
    return kilo_span(floor(data, "async-noop"))


@facts.fact
def sync_floor(data: Data) -> str:
    return kilo_span(floor(data, "sync-noop"))


def over_floor(data: Data, endpoint: str) -> str:
    """Each framework's range of what it adds beyond the floor; claims it adds something (> 0)."""
    found = {p: med(instr_over_floor(data, p, endpoint)) for p in fw_pairs(data)}
    below = [f"{p[0]}-{p[1]}" for p, v in found.items() if v <= 0]
    if below:
        raise Contradicted(f"a framework's task costs no more than the floor's in {and_list(below)}")
    return by_framework(data, lambda p: found[p], kilo_span)


@facts.fact
def async_over_floor(data: Data) -> str:
    return over_floor(data, "async-noop")


@facts.fact
def sync_over_floor(data: Data) -> str:
    return over_floor(data, "sync-noop")


@facts.fact
def notify_added(data: Data) -> str:
    found = [med(instr_added(data, p, "notify")) for p in instruction_pairs(data)]
    return span([x / 1e6 for x in found], "{:.1f}", "M")


@facts.fact
def notify_times(data: Data) -> str:
    """The notification over a no-task request of the same target, run by run: its range and spread."""
    ratios = [instr_ratios(data, p, "notify", p, "none") for p in instruction_pairs(data)]
    meds = [med(r) for r in ratios]
    worst = max((max(r) - min(r)) / med(r) for r in ratios)
    return f"{span(meds, '{:.1f}')} times (runs within {worst:.1%} of each other)"


@facts.fact
def ceiling_instr(data: Data) -> str:
    """Each framework's no-task instructions over the bare app's: the range over servers of the
    medians, and how far any of these ratios' runs are apart."""
    ratios = {p: instr_ratios(data, p, "none", ("bare", p[1])) for p in fw_pairs(data)}
    worst = max((max(r) - min(r)) / med(r) for r in ratios.values())
    return (by_framework(data, lambda p: med(ratios[p]), lambda xs: span(xs, "{:.2f}"))
            + f" times (each ratio's runs within {worst:.1%} of each other)")


# -- the wall and CPU tier's rounds ------------------------------------------------------

def rps_intervals(data: Data, endpoint: str) -> dict[Pair, Interval]:
    return {p: task_interval(data, p, endpoint) for p in round_pairs(data) if p[0] != "bare"}


@facts.fact
def async_rps_called(data: Data) -> str:
    """How many pairs show a measurable change in requests/s with a no-op `async def` task."""
    ivs = rps_intervals(data, "async-noop")
    same = [p for p, iv in ivs.items() if not iv.excludes(1.0)]
    fewer = {p: iv for p, iv in ivs.items() if iv.high < 1.0}
    more = [p for p, iv in ivs.items() if iv.low > 1.0]
    out = f"no measurable difference in {len(same)} of {len(ivs)} pairs"
    if fewer:
        worst = min(fewer, key=lambda p: fewer[p].median)
        out += (f", fewer in {len(fewer)} (down to {fewer[worst].show()} in {worst[0]}-{worst[1]})")
    if more:
        out += f", more in {and_list([f'{p[0]}-{p[1]}' for p in more])}"
    return out


@facts.fact
def sync_rps_range(data: Data) -> str:
    """The lowest and the highest `def`-task ratio, each with its interval; claims every one is below 1."""
    ivs = rps_intervals(data, "sync-noop")
    not_lower = [f"{p[0]}-{p[1]}" for p, iv in ivs.items() if iv.high >= 1.0]
    if not_lower:
        raise Contradicted("a no-op `def` task does not measurably lower requests/s in "
                           f"{and_list(not_lower)}")
    lo = min(ivs, key=lambda p: ivs[p].median)
    hi = max(ivs, key=lambda p: ivs[p].median)
    return f"{ivs[lo].show()} ({lo[0]}-{lo[1]}) to {ivs[hi].show()} ({hi[0]}-{hi[1]})"


@facts.fact
def sync_cpu_added(data: Data) -> str:
    """The frameworks' CPU µs per request a `def` task adds: the range of the medians over rounds,
    and the widest half-interval."""
    ivs = [interval(round_added(data, p, "sync-noop")) for p in round_pairs(data) if p[0] != "bare"]
    widest = max((iv.high - iv.low) / 2 for iv in ivs)
    return (f"{span([iv.median for iv in ivs], '{:+.0f}')} µs a request (95% intervals at most "
            f"±{widest:.0f} µs wide)")


@facts.fact
def interval_level(data: Data) -> str:
    from bench.stats import LEVEL

    return f"{LEVEL:.0%}"
