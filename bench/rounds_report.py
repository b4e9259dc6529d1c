"""Section 3 of docs/benchmarks.md: wall and CPU time of one task, from the interleaved rounds
(`data["rounds"]`, `bench.rounds`). Every ratio is taken inside a round, then the median
with its bootstrap 95% interval; a difference is called only where the interval excludes
none (1 for a ratio, 0 for a difference)."""

from __future__ import annotations

import statistics
from pathlib import Path

from bench.data import Data, Pair, round_added, round_cells, round_pairs, round_ratios
from bench.stats import Interval, interval

__all__ = ["busy", "called", "plots", "section", "task_interval", "verdicts"]

ENDPOINTS = ("none", "async-noop", "sync-noop")


def label(p: Pair) -> str:
    return f"{p[0]}-{p[1]}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def task_interval(data: Data, p: Pair, endpoint: str) -> Interval:
    """Requests/s with the task over without, round by round."""
    return interval(round_ratios(data, p, endpoint))


def ceiling_interval(data: Data, p: Pair, endpoint: str = "none") -> Interval:
    return interval(round_ratios(data, p, endpoint, endpoint, base_pair=("bare", p[1])))


def called(iv: Interval, none: float = 1.0) -> str:
    """The interval, and "no measurable difference" where it holds `none`."""
    shown = iv.show("{:.2f}")
    return shown if iv.excludes(none) else f"{shown}, no measurable difference"


def verdicts(data: Data, endpoint: str) -> dict[Pair, Interval]:
    return {p: task_interval(data, p, endpoint) for p in round_pairs(data) if p[0] != "bare"}


def busy(data: Data) -> str:
    """How busy the rest of the machine was during the rounds."""
    shares = [r["other_cpu_share"] for r in data["rounds"]]
    return (f"other work took {statistics.median(shares):.0%} of the machine's CPU during the median "
            f"cell and {max(shares):.0%} at most")


def median_of(data: Data, p: Pair, endpoint: str, key: str) -> float:
    return statistics.median(c[endpoint][key] for c in round_cells(data, p).values())


def section(data: Data, rel: Path, images: dict[str, str]) -> list[str]:
    size = data["rounds_size"]
    ps = round_pairs(data)
    rounds = max(r["round"] for r in data["rounds"])
    out = ["## 3. Wall and CPU time of one task, interleaved", "",
           f"On each server the five apps run at once, each server pinned to core 0 and wrk to core 1, and "
           f"{rounds} rounds each take {size['seconds']} s of wrk ({size['connections']} keep-alive "
           "connections, closed loop) on every app's `/none`, `/async-noop` and `/sync-noop`, the three "
           "endpoints of one app one after another, every other round in the reverse order "
           "(`bench/rounds.py`). Ratios and differences are taken inside a round, then the median over "
           "rounds with a bootstrap 95% interval (`bench/stats.py`); a difference is called only where "
           "the interval excludes none, otherwise the table says \"no measurable difference\". CPU µs: "
           "user + system time of the server's processes per request, from /proc. While they ran, "
           f"{busy(data)}.",
           ""]
    for key in ("overhead", "ceiling"):
        if key in images:
            out += [f"![{key}]({rel / images[key]})", ""]
    rows = []
    for p in ps:
        row = [label(p), f"{median_of(data, p, 'none', 'rps'):.0f}"]
        row += [called(task_interval(data, p, e)) for e in ("async-noop", "sync-noop")]
        row.append("" if p[0] == "bare" or ("bare", p[1]) not in ps else called(ceiling_interval(data, p)))
        row.append(f"{median_of(data, p, 'none', 'cpu_us_per_request'):.0f}")
        row += [interval(round_added(data, p, e)).show("{:+.1f}") for e in ("async-noop", "sync-noop")]
        row.append(" / ".join(f"{median_of(data, p, e, 'p99_ms'):.1f}" for e in ENDPOINTS))
        row.append(str(sum(c[e]["errors"] for c in round_cells(data, p).values() for e in ENDPOINTS)))
        rows.append(row)
    out += table(["pair", "requests/s, no task", "`async def` task / none", "`def` task / none",
                  "no task / bare", "CPU µs/request, no task", "`async def` task adds µs",
                  "`def` task adds µs",
                  "p99 ms none / async / def", "errors"], rows)
    return out


def plots(data: Data, folder: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ps = round_pairs(data)
    files = {}

    def bars(key: str, title: str, ylabel: str, series: dict[str, list[Interval | None]],
             which: list[Pair]) -> None:
        fig, ax = plt.subplots(figsize=(11, 4.2))
        width = 0.8 / len(series)
        for i, (name, ivs) in enumerate(series.items()):
            meds = [iv.median if iv else 0.0 for iv in ivs]
            lo = [iv.median - iv.low if iv else 0.0 for iv in ivs]
            hi = [iv.high - iv.median if iv else 0.0 for iv in ivs]
            ax.bar([j + i * width for j in range(len(which))], meds, width, yerr=[lo, hi], capsize=2,
                   label=name)
        ax.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(which))])
        ax.set_xticklabels([label(p) for p in which], rotation=30, ha="right", fontsize=8)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        fig.tight_layout()
        files[key] = f"{key}.png"
        fig.savefig(folder / files[key], dpi=90)
        plt.close(fig)

    fw = [p for p in ps if p[0] != "bare"]
    bars("overhead", "Requests/s with one no-op task over without, round by round (median, 95% interval)",
         "task / no task",
         {f"/{e}": [task_interval(data, p, e) for p in ps] for e in ("async-noop", "sync-noop")}, ps)
    if all(("bare", p[1]) in ps for p in fw) and fw:
        bars("ceiling", "Fraction of the bare-ASGI ceiling, same endpoint (median, 95% interval)",
             "framework / bare", {f"/{e}": [ceiling_interval(data, p, e) for p in fw] for e in ENDPOINTS}, fw)
    return files
