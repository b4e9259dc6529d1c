"""The numbers README's durable line cites (`bench/durable_headline.md`), from the data's
`durable` member: each framework's median ratio (taken run by run, side by side), and the
delivery rates. The facts that carry a claim of the sentence check it."""

from __future__ import annotations

import statistics

from bench.data import Data
from bench.durable_report import cost_ratios, frameworks, rates, speedups
from bench.template import Contradicted, Facts, percent, sig

facts = Facts()


@facts.fact
def durable_runs(data: Data) -> str:
    return str(len({r["run"] for r in data["durable"]["delivery"]}))


@facts.fact
def enqueue_share(data: Data) -> str:
    """The range of the frameworks' medians: the sentence claims no side of 100%."""
    d = data["durable"]
    return percent(statistics.median(cost_ratios(d, f)) for f in frameworks(d))


@facts.fact
def enqueue_spread(data: Data) -> str:
    """How far a framework's runs of that ratio are apart, at most, in percentage points."""
    d = data["durable"]
    worst = max(max(cost_ratios(d, f)) - min(cost_ratios(d, f)) for f in frameworks(d))
    return f"each framework's runs within {100 * worst:.0f} points of each other"


@facts.fact
def backlog(data: Data) -> str:
    return str(data["durable"]["size"]["backlog"])


@facts.fact
def one_worker_rate(data: Data) -> str:
    return sig(statistics.median(rates(data["durable"], 1)))


@facts.fact
def two_workers_rate(data: Data) -> str:
    return sig(statistics.median(rates(data["durable"], 2)))


@facts.fact
def two_workers_speedup(data: Data) -> str:
    """Carries "faster with two": two workers' rate over one's above 1, run by run."""
    ups = speedups(data["durable"])
    if statistics.median(ups) <= 1:
        raise Contradicted(f"two workers delivered {statistics.median(ups):.2f} times one's rate, not faster")
    shown = sig(statistics.median(ups))
    return shown if len(ups) < 2 else f"{shown} ({sig(min(ups))}–{sig(max(ups))})"


@facts.fact
def durable_duplicates(data: Data) -> str:
    """Carries "none twice": no notification of the backlog delivered twice."""
    twice = sum(r["duplicates"] for r in data["durable"]["delivery"])
    if twice:
        raise Contradicted(f"{twice} notification(s) of the backlog delivered twice")
    return "none"
