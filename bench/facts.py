"""The numbers the prose cites from the measurements, by name (`{name}` in the templates).

Per pair, a number is the median over runs (ratios and differences taken run by run,
side by side); a fact over several pairs is the range of those medians. The constants
below are the lines the prose draws ("lost more than 10%") or what the apps are built
with; they are not measurements, and the facts that use them say so in their sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.data import (
    Data,
    Get,
    Pair,
    cell,
    differences,
    framework_pairs,
    median,
    pairs,
    ratios,
    round_added,
    round_cells,
    round_pairs,
    round_ratios,
    values,
)
from bench.template import Contradicted, Facts, and_list, percent, sig, span

facts = Facts()

#: The article's lesson "holds" where a loop-blocking task lifts a plain endpoint's p99 to
#: at least this many times what the same block in a `def` task does.
LESSON = 2.0
#: "Saturation is the pool's size over the task's duration": tasks/s within these shares
#: of threads / task duration.
POOL_BOUND = (0.8, 1.05)
#: "The answers keep the offered rate": answers/s at least this share of it.
ANSWERS_KEPT = 0.95
#: The pool that runs a `def` task in each benchmark app (bench/apps): anyio's for the
#: frameworks built on Starlette, asyncio's default executor for the others.
POOL = {"fastapi": "anyio", "starlette": "anyio", "litestar": "asyncio", "quart": "asyncio",
        "bare": "asyncio"}
#: anyio's default thread limit (`anyio.to_thread.current_default_thread_limiter()`).
ANYIO_THREADS = 40
NAMES = {"fastapi": "FastAPI", "starlette": "Starlette", "litestar": "Litestar", "quart": "Quart",
         "bare": "the bare app"}


def per_pair(data: Data, ps: list[Pair], series: Callable[[Pair], list[float]]) -> dict[Pair, float]:
    return {p: median(series(p)) for p in ps}


def round_framework_pairs(data: Data) -> list[Pair]:
    return [p for p in round_pairs(data) if p[0] != "bare"]


def cpu_rise(data: Data, endpoint: str) -> dict[Pair, float]:
    """CPU µs per request with the task over without, per framework pair: medians over rounds."""
    return per_pair(data, round_framework_pairs(data), lambda p: round_added(data, p, endpoint))


def task_ratios(data: Data, endpoint: str) -> dict[Pair, float]:
    """Requests/s with the task over without, per framework pair: medians over rounds."""
    return per_pair(data, round_framework_pairs(data), lambda p: round_ratios(data, p, endpoint))


def round_medians(data: Data, ps: list[Pair], endpoint: str, key: str) -> dict[Pair, float]:
    """Per pair, the median over rounds of one cell's `key`."""
    return {p: median([c[endpoint][key] for c in round_cells(data, p).values()]) for p in ps}


def medians(data: Data, ps: list[Pair], get: Get) -> dict[Pair, float]:
    return per_pair(data, ps, lambda p: values(data, p, get))


def label(p: Pair) -> str:
    return f"{p[0]}-{p[1]}"


# -- runs and lines drawn ---------------------------------------------------------------

@facts.fact
def runs(data: Data) -> str:
    return str(data["size"]["runs"])


@facts.fact
def cores(data: Data) -> str:
    return str(data["machine"]["cores"])


#: What an older record (before the machine block named them) was measured with.
HTTP_BEFORE = {"uvicorn": "h11", "hypercorn": "h11 (its own HTTP/1.1)"}


def servers_line(m: dict[str, Any]) -> str:
    """Each server's HTTP implementation and event loop, as the run recorded them."""
    http = m.get("http", HTTP_BEFORE)
    loops = m.get("loops", {})
    return "; ".join(f"{server}: {impl}, {loops.get(server, 'asyncio')} loop"
                     for server, impl in http.items())


@facts.fact
def server_configs(data: Data) -> str:
    """The measured servers' configurations, so that every per-server number says what it is for."""
    measured = dict.fromkeys(s for _, s in framework_pairs(data))
    machine = {**data["machine"], "http": {s: v for s, v in data["machine"].get("http", HTTP_BEFORE).items()
                                           if s in measured}}
    return servers_line(machine)


# -- 1. one no-op task ------------------------------------------------------------------


@facts.fact
def async_cpu_us(data: Data) -> str:
    return span(cpu_rise(data, "async-noop").values())


@facts.fact
def sync_cpu_us(data: Data) -> str:
    return span(cpu_rise(data, "sync-noop").values())


def none_p99s(data: Data) -> dict[Pair, float]:
    return round_medians(data, round_framework_pairs(data), "none", "p99_ms")


@facts.fact
def none_p99(data: Data) -> str:
    """/none's p99 in the frameworks other than Quart (which the prose gives apart)."""
    return span((v for p, v in none_p99s(data).items() if p[0] != "quart"), "{:.1f}")


@facts.fact
def quart_none_p99(data: Data) -> str:
    """Carries "(Quart: ... already)": Quart's /none p99 is above every other framework's."""
    quart = [v for p, v in none_p99s(data).items() if p[0] == "quart"]
    others = [v for p, v in none_p99s(data).items() if p[0] != "quart"]
    if min(quart) <= max(others):
        raise Contradicted(f"Quart's /none p99 ({span(quart, '{:.1f}')} ms) is not above the others' "
                           f"({span(others, '{:.1f}')} ms)")
    return span(quart)


@facts.fact
def sync_p99(data: Data) -> str:
    return span(round_medians(data, round_framework_pairs(data), "sync-noop", "p99_ms").values())


# -- 2. the ceiling ---------------------------------------------------------------------

@facts.fact
def ceiling(data: Data) -> str:
    """Each framework's no-task throughput over the bare app's, per server, best first."""
    of_bare = per_pair(data, round_framework_pairs(data),
                       lambda p: round_ratios(data, p, "none", "none", base_pair=("bare", p[1])))
    servers = list(dict.fromkeys(s for _, s in of_bare))
    frameworks = sorted(dict.fromkeys(f for f, _ in of_bare), key=lambda f: -of_bare[(f, servers[0])])
    parts = []
    for n, f in enumerate(frameworks):
        numbers = [f"{of_bare[(f, s)]:.2f}" + (f" ({s})" if n == 0 else "")
                   for s in servers if (f, s) in of_bare]
        parts.append(f"{NAMES[f]} {' / '.join(numbers)}")
    return ", ".join(parts)


# -- 3. slow tasks ----------------------------------------------------------------------

@facts.fact
def slow_task(data: Data) -> str:
    return f"{data['size']['slow_ms'] / 1000:g} s"


@facts.fact
def slow_ms(data: Data) -> str:
    return f"{data['size']['slow_ms']:,}"


@facts.fact
def slow_response_p99(data: Data) -> str:
    """Carries "do not delay the answer": every p99 under a tenth of the task's duration."""
    worst = max(medians(data, pairs(data), cell("slow", "response_p99_ms")).values())
    if worst >= data["size"]["slow_ms"] / 10:
        raise Contradicted(f"a response p99 of {worst:.1f} ms is not small beside a task of "
                           f"{data['size']['slow_ms']} ms")
    return f"{worst:.1f}"


@facts.fact
def slow_lag_over(data: Data) -> str:
    lag = medians(data, pairs(data), cell("slow", "lag_p99_ms")).values()
    return f"{max(lag) - data['size']['slow_ms']:.1f}"


# -- 4. blocking ------------------------------------------------------------------------

@facts.fact
def block_ms(data: Data) -> str:
    return str(data["size"]["block_ms"])


@facts.fact
def async_block_p99(data: Data) -> str:
    return span(medians(data, framework_pairs(data), cell("blocking", "async-block", "p99_ms")).values())


def lesson(data: Data) -> dict[Pair, float]:
    """Per framework pair, the p99 with loop-blocking tasks over the p99 with thread-blocking ones."""
    return per_pair(data, framework_pairs(data), lambda p: ratios(
        data, p, cell("blocking", "async-block", "p99_ms"), cell("blocking", "sync-block", "p99_ms")))


def lesson_holds(data: Data) -> list[Pair]:
    """The pairs where blocking the loop is at least LESSON times worse; none of them: a contradiction."""
    held = [p for p, t in lesson(data).items() if t >= LESSON]
    if not held:
        raise Contradicted(f"blocking the loop is not {LESSON:g} times worse than blocking a thread in "
                           "any pair")
    return held


@facts.fact
def lesson_where(data: Data) -> str:
    """"in all four frameworks under ...", or in how many pairs, naming the others and their ratio."""
    held, times = lesson_holds(data), lesson(data)
    if len(held) == len(times):
        return f"in all four frameworks under {servers(data)}"
    others = [f"{label(p)}, where the median of its runs is {t:.1f} times" for p, t in times.items()
              if p not in held]
    return f"in {len(held)} of {len(times)} pairs (not in {and_list(others)})"


@facts.fact
def sync_block_over(data: Data) -> str:
    """How far a `def` task's block moves the plain endpoint's p99, at most (either way), where the
    lesson holds."""
    moved = per_pair(data, lesson_holds(data), lambda p: differences(
        data, p, cell("blocking", "sync-block", "p99_ms"), cell("blocking", "none", "p99_ms")))
    return sig(max(abs(v) for v in moved.values()), 1)


@facts.fact
def servers(data: Data) -> str:
    """The servers measured, in the run's order: "uvicorn, uvicorn-std and hypercorn"."""
    return and_list(list(dict.fromkeys(s for _, s in framework_pairs(data))))


@facts.fact
def block_times(data: Data) -> str:
    """How many times lower the p99 stays with thread-blocking tasks, where the lesson holds."""
    times = lesson(data)
    return span(times[p] for p in lesson_holds(data))


# -- 5 and 6. saturation and backlog ----------------------------------------------------

@facts.fact
def flood_ms(data: Data) -> str:
    return str(data["size"]["flood_ms"])


@facts.fact
def flood_rate(data: Data) -> str:
    return str(data["size"]["flood_rate"])


@facts.fact
def flood_tasks(data: Data) -> str:
    return str(round(data["size"]["flood_rate"] * data["size"]["flood_seconds"]))


def threads(data: Data, pool: str) -> int:
    """asyncio's default executor: `min(32, os.cpu_count() + 4)` threads; anyio's limiter: 40."""
    return min(32, data["machine"]["cores"] + 4) if pool == "asyncio" else ANYIO_THREADS


def pool_pairs(data: Data, pool: str) -> list[Pair]:
    return [p for p in pairs(data) if POOL[p[0]] == pool]


def pool_ceiling(data: Data, pool: str) -> float:
    """Tasks/s the pool can finish at most: its threads over one task's duration."""
    return threads(data, pool) * 1000 / data["size"]["flood_ms"]


def tasks_per_s(data: Data, pool: str) -> dict[Pair, float]:
    """Carries "saturation is the pool's size over the task's duration"."""
    found = medians(data, pool_pairs(data, pool), cell("saturation", "tasks_per_s"))
    top = pool_ceiling(data, pool)
    off = [f"{label(p)} ({v:.0f})" for p, v in found.items() if not POOL_BOUND[0] <= v / top <= POOL_BOUND[1]]
    if off:
        raise Contradicted(f"tasks/s far from {threads(data, pool)} threads over "
                           f"{data['size']['flood_ms']} ms ({top:.0f}/s): {and_list(off)}")
    return found


@facts.fact
def asyncio_threads(data: Data) -> str:
    return str(threads(data, "asyncio"))


@facts.fact
def anyio_threads(data: Data) -> str:
    return str(threads(data, "anyio"))


@facts.fact
def asyncio_ceiling(data: Data) -> str:
    return f"{pool_ceiling(data, 'asyncio'):.0f}"


@facts.fact
def anyio_ceiling(data: Data) -> str:
    return f"{pool_ceiling(data, 'anyio'):.0f}"


@facts.fact
def asyncio_tasks(data: Data) -> str:
    return span(tasks_per_s(data, "asyncio").values())


@facts.fact
def anyio_tasks(data: Data) -> str:
    return span(tasks_per_s(data, "anyio").values())


@facts.fact
def anyio_share(data: Data) -> str:
    return percent(v / pool_ceiling(data, "anyio") for v in tasks_per_s(data, "anyio").values())


def answered(data: Data) -> dict[Pair, float]:
    return medians(data, pairs(data), cell("saturation", "answers_per_s"))


def behind(data: Data) -> dict[Pair, float]:
    """The pairs whose answers/s fell below ANSWERS_KEPT of the offered rate."""
    rate = data["size"]["flood_rate"]
    return {p: v for p, v in answered(data).items() if v < ANSWERS_KEPT * rate}


@facts.fact
def answers(data: Data) -> str:
    """The answers/s of the pairs that kept the offered rate (`answers_except` names the others)."""
    slow = behind(data)
    kept = [v for p, v in answered(data).items() if p not in slow]
    if not kept:
        raise Contradicted("no pair's answers kept the offered rate")
    return span(kept)


@facts.fact
def answers_but(data: Data) -> str:
    """The short form of `answers_except`, for README's headlines."""
    slow = behind(data)
    return f" (but in {and_list([label(p) for p in slow])}, whose server fell behind)" if slow else ""


@facts.fact
def answers_except(data: Data) -> str:
    """"", or the pairs whose server fell behind the offered rate, with the CPU each such request cost."""
    slow = behind(data)
    if not slow:
        return ""
    cpu = round_medians(data, [p for p in slow if p in round_pairs(data)], "sync-noop", "cpu_us_per_request")
    return (", except in " + and_list([f"{label(p)} ({v:.0f}/s; a `def`-task request costs its server "
                                       f"{cpu[p]:.0f} µs of CPU there)" for p, v in slow.items()])
            + ", where the server itself fell behind the offered rate")


def backlog(data: Data, pool: str, key: str) -> list[float]:
    return list(medians(data, pool_pairs(data, pool), cell("backlog", key)).values())


@facts.fact
def asyncio_pending(data: Data) -> str:
    return span(backlog(data, "asyncio", "pending_at_stop"))


@facts.fact
def anyio_pending(data: Data) -> str:
    return span(backlog(data, "anyio", "pending_at_stop"))


@facts.fact
def asyncio_drain(data: Data) -> str:
    return span((float(sig(v)) for v in backlog(data, "asyncio", "drain_s")), "{:g}")


@facts.fact
def anyio_drain(data: Data) -> str:
    return span((float(sig(v)) for v in backlog(data, "anyio", "drain_s")), "{:g}")


@facts.fact
def rss_growth(data: Data) -> str:
    """Resident memory at the peak over before the flood, MiB."""
    growth = per_pair(data, pairs(data), lambda p: differences(
        data, p, cell("backlog", "rss_peak_kib"), cell("backlog", "rss_before_kib")))
    return span(v / 1024 for v in growth.values())
