"""The stable tier on docs/benchmarks.md: instructions per request (`data["instructions"]`), and
what each framework's task adds over the floor, in instructions and in µs of CPU.

Each instruction figure is the median of its runs (one server process each) with their
range; a difference (what a task adds, what a framework adds over the floor) is taken inside
one run, then the median. The CPU µs beside them come from the interleaved rounds of the
wall and CPU tier (`bench.rounds`), with their bootstrap 95% intervals.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench.callgrind import VALGRIND
from bench.data import (
    ENDPOINTS,
    Data,
    Pair,
    instr,
    instr_added,
    instr_over_floor,
    instr_ratios,
    instruction_pairs,
    largest_difference,
    round_added,
    round_over_floor,
    round_pairs,
    run_differences,
)
from bench.stats import interval

__all__ = ["ENDPOINTS", "agreement", "kilo", "kspread", "section", "spreads", "what_it_cannot_see"]

TASKS = {"async-noop": "a no-op `async def` task", "sync-noop": "a no-op `def` task",
         "notify": "the spec's notification (a `def` task, smtplib, to the sink)"}


def kilo(x: float, sign: bool = False) -> str:
    """Instructions in thousands: `731.6k`, `+19.9k`."""
    return f"{x / 1000:+.1f}k" if sign else f"{x / 1000:.1f}k"


def kspread(xs: list[float], sign: bool = False) -> str:
    """The median over runs and their range: `731.6k (731.5–731.7k)`, `+19.9k (19.8–20.0k)`."""
    if not xs:
        return "n/a"
    med = kilo(statistics.median(xs), sign)
    if len(xs) == 1:
        return med
    return f"{med} ({min(xs) / 1000:.1f}–{max(xs) / 1000:.1f}k)"


def rel(xs: list[float]) -> float:
    """(max - min) / median: how far a figure's runs are apart."""
    med = statistics.median(xs)
    return (max(xs) - min(xs)) / abs(med) if len(xs) > 1 and med else 0.0


def spreads(data: Data) -> dict[tuple[str, str, str], float]:
    """(framework, server, endpoint) -> how far its runs are apart, for every figure of the tier."""
    return {(*p, e): rel(instr(data, p, e)) for p in instruction_pairs(data) for e in ENDPOINTS}


def agreement(data: Data) -> str:
    found = spreads(data)
    worst = max(found, key=lambda k: found[k])
    return (f"{found[worst]:.2%} at most ({worst[0]}-{worst[1]} `/{worst[2]}`), "
            f"{statistics.median(found.values()):.2%} for the median figure")


def consecutive(data: Data) -> str:
    """How far this full run's figures are from the previous full run's, kept beside it."""
    ins = data["instructions"]
    if "previous" not in ins:
        return "No previous full run is kept to compare with."
    prev = ins["previous"]

    def when(run: Data) -> str:
        return f"started {run.get('started', 'undated')}, commit {run.get('commit', 'unknown')}"

    found = largest_difference(run_differences(ins, prev))
    return (f"This full run ({when(ins)}) and the one before it ({when(prev)}), "
            f"each figure the median of its runs, differ by {found}.")


def what_it_cannot_see() -> str:
    return ("What this tier cannot see: valgrind runs a process's threads one at a time and counts the "
            "instructions of user space only. A `def` task's hop to a worker thread shows here as the "
            "Python and C work of the hop (handing the function to the pool, waking the worker, the "
            "worker's own Python), not as the kernel's work of waking the thread and switching to it and "
            "back, nor as the time the loop thread waits for the GIL: those show in CPU time (section 3). "
            "An instruction is not a unit of time either (a cache miss or a system call costs many): the "
            "counts compare code paths; the CPU tier says what they cost on this machine. The client, "
            "the sink and the kernel's network stack are not counted.")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def label(p: Pair) -> str:
    return f"{p[0]}-{p[1]}"


def how_measured(data: Data) -> str:
    ins = data["instructions"]
    size = ins["size"]
    idle = size.get("idle", [2, 1.0])
    adaptive = (f"{size['repeats']} pairs of each size at least, then more while the median's standard "
                f"error is above {size['precision']:.2%} of it, up to {size['most']} pairs or "
                f"{size['budget']:g} s of batches ({extra_pairs(data)})"
                if "precision" in size else f"{size['repeats']} of each size")
    return (f"Each target runs under valgrind {ins['valgrind']}'s callgrind "
            f"(`{' '.join(VALGRIND)}`; `bench/instructions.py`), "
            f"one server process per run, {size['runs']} runs, each with the same string hash "
            "(`PYTHONHASHSEED=0`, so that dicts are laid out alike from run to run). After "
            f"{size['warmup']} uncounted requests to each endpoint ({size['notify_n']} to `/notify`), "
            f"counting is switched on. The server is left idle for {idle[0]} spells of {idle[1]:g} s (one "
            "before the batches, one after), to learn what it runs by the clock alone (its timers; "
            f"{idle_rates(data)}). Then each endpoint takes batches of "
            f"{size['n']} and {2 * size['n']} sequential keep-alive requests ({size['notify_n']} and "
            f"{2 * size['notify_n']} for `/notify`), {adaptive}, a dump and the wall time after each. "
            "A batch's figure is its instructions less the idle rate times its wall time, "
            "over its requests: under valgrind a request takes about fifty times as long as at full speed, "
            "and the timers would otherwise be charged fifty times over, more on a busier machine. A run's "
            "figure is the median over its batches, so that a rare full garbage collection in one batch "
            "moves nothing. The marginal cost, the difference of the two sizes' medians over "
            f"{size['n']} (what a batch costs beyond its requests cancelled), is {marginal_agreement(data)}: "
            "a batch costs next to nothing beyond its requests, and the median over all batches is the "
            "steadier of the two. `/notify` requests go one at a time, the next once the sink has seen the "
            "last one's task quit SMTP, so that each task runs alone and whole inside its batch. "
            f"Runs: {ins['seconds']} s for the {len(instruction_pairs(data))} targets, "
            f"{ins['jobs']} at a time (the load average was "
            f"{ins['load_1m'][0]:.1f} at the start and {ins['load_1m'][1]:.1f} at the end).")


def extra_pairs(data: Data) -> str:
    """How many figures took more than the fewest pairs, and the most any took."""
    size = data["instructions"]["size"]
    pairs = [len(c["batches"]) // 2 for r in data["instructions"]["results"]
             for e in ENDPOINTS if isinstance(c := r.get(e), dict)]
    more = sum(p > size["repeats"] for p in pairs)
    return f"{more} of {len(pairs)} took more, {max(pairs)} pairs at most"


def idle_rates(data: Data) -> str:
    """Per server, the range of its targets' idle rates over their runs, in instructions a second."""
    rates: dict[str, list[float]] = {}
    for r in data["instructions"]["results"]:
        if "idle_per_s" in r:
            rates.setdefault(r["server"], []).append(r["idle_per_s"])
    if not rates:
        return "not measured in this data"
    each = [f"{server} {min(xs) / 1000:.0f}k to {max(xs) / 1000:.0f}k" for server, xs in rates.items()]
    return ", ".join(each) + " instructions a second"


def marginal_agreement(data: Data) -> str:
    """How far each run's marginal cost is from its per-batch median: for the median figure, and at most."""
    gaps = [abs(c["marginal"] / c["per_request"] - 1) for r in data["instructions"]["results"]
            for e in ENDPOINTS if isinstance(c := r.get(e), dict) and "marginal" in c]
    if not gaps:
        return "not in this data"
    return f"within {statistics.median(gaps):.1%} of it for the median figure ({max(gaps):.1%} at most)"


def section(data: Data, rel_dir: Path, images: dict[str, str]) -> list[str]:
    """Sections 1 (instructions per request) and 2 (the floor)."""
    ps = instruction_pairs(data)
    out = ["## 1. Instructions per request (callgrind)", "", how_measured(data), "",
           f"The runs of a figure differ by {agreement(data)}. {consecutive(data)}", "",
           what_it_cannot_see(), ""]
    if "instructions" in images:
        out += [f"![instructions]({rel_dir / images['instructions']})", ""]
    rows = [[label(p), *(kspread(instr(data, p, e)) for e in ENDPOINTS),
             *(kspread(instr_added(data, p, e), sign=True) for e in ENDPOINTS[1:])] for p in ps]
    out += table(["target", "`/none`", "`/async-noop`", "`/sync-noop`", "`/notify`",
                  "`async def` task adds", "`def` task adds", "the notification adds"], rows)
    out += ["Instructions per request, median of the runs (their range); what a task adds is the "
            "endpoint's count minus `/none`'s in the same run.", ""]
    out += floor_section(data)
    return out


def cpu_cell(data: Data, p: Pair, endpoint: str, floor: bool) -> str:
    if p not in round_pairs(data):
        return "n/a"
    xs = round_over_floor(data, p, endpoint) if floor else round_added(data, p, endpoint)
    return interval(xs).show("{:+.1f}") if xs else "n/a"


def floor_section(data: Data) -> list[str]:
    ps = instruction_pairs(data)
    out = ["## 2. The floor, and what each framework's task adds over it", "",
           "The floor is the cheapest task each server can run: the bare ASGI app "
           "(`bench/apps/bare_app.py`) sends its answer, then awaits a no-op coroutine (`async def`), "
           "or hands a no-op function to asyncio's default thread pool and awaits it (`def`). What a "
           "framework's task costs beyond the floor on the same server is what the framework adds: its "
           "own task machinery. In instructions (this tier, median of the runs, each taken inside one "
           "run) and in µs of CPU per request (section 3's interleaved rounds: user + system time of the "
           "server's processes, the kernel's share of the thread hop included; median over rounds, 95% "
           "interval).", ""]
    rows = []
    for p in ps:
        bare = p[0] == "bare"
        row = [label(p) + (" (the floor)" if bare else "")]
        for e in ("async-noop", "sync-noop"):
            row += [kspread(instr_added(data, p, e), sign=True),
                    "" if bare else kspread(instr_over_floor(data, p, e), sign=True),
                    cpu_cell(data, p, e, floor=not bare)]
        rows.append(row)
    out += table(["target", "`async def` task adds", "over the floor", "CPU µs (over the floor)",
                  "`def` task adds", "over the floor", "CPU µs (over the floor)"], rows)
    out += ["For the bare rows, the CPU column is what the floor's task itself adds to a request.", ""]
    return out


def ceiling_rows(data: Data) -> list[list[str]]:
    """Each framework's instructions per request over the bare app's, no task, run by run."""
    rows = []
    for p in [p for p in instruction_pairs(data) if p[0] != "bare"]:
        xs = instr_ratios(data, p, "none", ("bare", p[1]))
        rows.append([label(p), f"{statistics.median(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})"])
    return rows


def plot(data: Data, folder: Path) -> str:
    """Instructions per request of every target, three endpoints side by side; returns the file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ps = instruction_pairs(data)
    fig, ax = plt.subplots(figsize=(11, 4.2))
    width = 0.8 / 3
    for i, e in enumerate(ENDPOINTS[:3]):
        meds = [statistics.median(instr(data, p, e)) / 1000 for p in ps]
        lo = [m - min(instr(data, p, e)) / 1000 for m, p in zip(meds, ps, strict=True)]
        hi = [max(instr(data, p, e)) / 1000 - m for m, p in zip(meds, ps, strict=True)]
        ax.bar([j + i * width for j in range(len(ps))], meds, width, yerr=[lo, hi], capsize=2, label=f"/{e}")
    ax.set_xticks([j + width for j in range(len(ps))])
    ax.set_xticklabels([label(p) for p in ps], rotation=30, ha="right", fontsize=8)
    ax.set_title("Instructions per request (callgrind): no task, a no-op async def task, a no-op def task")
    ax.set_ylabel("thousands of instructions")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "instructions.png", dpi=90)
    plt.close(fig)
    return "instructions.png"


def headline_rows(data: Data) -> list[list[str]]:
    """The page's headline table: per framework pair, from the stable tier."""
    rows = []
    for p in [p for p in instruction_pairs(data) if p[0] != "bare"]:
        none = statistics.median(instr(data, p, "none"))
        cells = [label(p), kspread(instr(data, p, "none"))]
        for e in ("async-noop", "sync-noop"):
            added = instr_added(data, p, e)
            cells.append(f"{kspread(added, sign=True)}, {statistics.median(added) / none:+.1%}")
            cells.append(kspread(instr_over_floor(data, p, e), sign=True))
        cells.append(ceiling_rows(data)[[label(q) for q in instruction_pairs(data) if q[0] != "bare"]
                                        .index(label(p))][1])
        rows.append(cells)
    return rows


def headline_table(data: Data) -> list[str]:
    return table(["pair", "instructions, no task", "`async def` task adds", "over the floor",
                  "`def` task adds", "over the floor", "no task, over the bare app"], headline_rows(data))


def summary_line(data: dict[str, Any]) -> str:
    return f"{len(instruction_pairs(data))} targets, {data['instructions']['size']['runs']} runs each"
