"""The numbers the prose cites from the profiles (`data["profiles"]`), by name.

The prose names functions (`socket.send`, Litestar's `unwrap_partial`, ...). A fact that
cites them looks for each among that framework's largest additions for the endpoint (the
`bench.profile.TOP` kept in the data): where a claim needs a function there, a missing one
raises `Contradicted`; where the prose only reports what stands out, the sentence is
phrased from what was found.
"""

from __future__ import annotations

import re
import statistics
from typing import Any

from bench.data import Data
from bench.facts import POOL, cpu_rise, task_ratios
from bench.template import Contradicted, Facts, and_list, percent, span

facts = Facts()

SEND = r"<method 'send' of '_socket\.socket' objects>"
#: The call with which the loop thread wakes a worker for a `def` task: anyio's worker waits
#: on a lock, asyncio's executor's on its `SimpleQueue`.
WAKE = {"anyio": r"<method 'release' of '_thread\.lock' objects>",
        "asyncio": r"<method 'put' of '_queue\.SimpleQueue' objects>"}
#: The hop's own machinery, after the wake-up: anyio's `run_sync_in_worker_thread`, the
#: executor's `submit`.
HOP = {"anyio": r"\(run_sync_in_worker_thread\)", "asyncio": r"futures/thread\.py:\d+\(submit\)"}
#: Functions a no-op `async def` task runs in each framework's own code, as the prose names them.
WRAPPER: list[tuple[str, str, str]] = [
    ("fastapi", r"fastapi/background\.py:\d+\(__call__\)", "FastAPI's `BackgroundTasks.__call__`"),
    ("fastapi", r"background\.py:\d+\(add_task\)", "FastAPI's `add_task`"),
    ("starlette", r"starlette/background\.py:\d+\(__call__\)", "Starlette's `BackgroundTasks.__call__`"),
    ("starlette", r"\(_has_code_flag\)",
     "Starlette's `is_async_callable` check through `inspect._has_code_flag`"),
    ("litestar", r"\(unwrap_partial\)", "Litestar's `unwrap_partial`"),
    ("litestar", r"background_tasks\.py:\d+\(__call__\)", "Litestar's `BackgroundTask.__call__`"),
]
#: "`add_background_task` starts a separate asyncio task at once"
QUART_TASK = [r"quart/app\.py:\d+\(add_background_task\)", r"quart/app\.py:\d+\(_wrapper\)"]


def profile(data: Data, framework: str) -> dict[str, Any]:
    for found in data.get("profiles") or []:
        if found["framework"] == framework:
            return found
    raise Contradicted(f"the data has no profile of {framework}")


def find(data: Data, framework: str, endpoint: str, pattern: str, within: int | None = None) -> float | None:
    """µs/request the function matching `pattern` added on `endpoint`, if among the first `within`."""
    for row in profile(data, framework)[endpoint][:within]:
        if re.search(pattern, row["function"]):
            return row["extra_us"]
    return None


def need(data: Data, framework: str, endpoint: str, pattern: str, within: int | None = None) -> float:
    found = find(data, framework, endpoint, pattern, within)
    if found is None:
        where = f"{within} largest" if within else "largest"
        raise Contradicted(f"no function matching {pattern!r} among {framework}'s {where} additions "
                           f"on /{endpoint}")
    return found


def frameworks(data: Data) -> list[str]:
    return [p["framework"] for p in data["profiles"]]


def spread(served: Any) -> float:
    if not isinstance(served, list) or len(served) < 2:
        raise Contradicted("a profile has no rounds to compare")
    return (max(served) - min(served)) / statistics.median(served)


@facts.fact
def profile_noise(data: Data) -> str:
    """How much the requests a framework's `/none` served under the profiler varied between rounds."""
    return percent(spread(p["requests"]["none"]) for p in data["profiles"])


@facts.fact
def async_named(data: Data) -> str:
    """Which of the task wrapper's functions stand out of the profile, and which do not."""
    found, missing = [], []
    for framework, pattern, label in WRAPPER:
        extra = find(data, framework, "async-noop", pattern)
        if extra is None:
            missing.append(label)
        else:
            found.append(f"{label} (+{extra:.1f} µs)")
    if not found:
        return f"none of the task's own functions stands out of it ({and_list(missing)})"
    out = f"{and_list(found)} stand{'s' if len(found) == 1 else ''} out of it"
    return out + (f"; {and_list(missing)} do{'es' if len(missing) == 1 else ''} not" if missing else "")


@facts.fact
def quart_cpu_rise(data: Data) -> str:
    """Quart's CPU rise per request with a no-op `async def` task, over its servers."""
    rise = cpu_rise(data, "async-noop")
    return span(v for p, v in rise.items() if p[0] == "quart")


@facts.fact
def cpu_rise_most(data: Data) -> str:
    """The pair whose CPU per request rose most with a no-op `async def` task, and by how much."""
    rise = cpu_rise(data, "async-noop")
    steepest = max(rise, key=lambda p: rise[p])
    return f"{steepest[0]}-{steepest[1]}'s, {rise[steepest]:.0f} µs per request"


@facts.fact
def quart_task_us(data: Data) -> str:
    """`add_background_task` and its task's `_wrapper` among Quart's additions: their µs, together."""
    return f"{sum(need(data, 'quart', 'async-noop', pattern) for pattern in QUART_TASK):.0f}"


@facts.fact
def sync_send_us(data: Data) -> str:
    """Carries "the two largest additions, in all four, are the wake-up and `socket.send`"."""
    return span((need(data, f, "sync-noop", SEND, within=2) for f in frameworks(data)), "{:+.0f}")


@facts.fact
def wake_us(data: Data) -> str:
    """The call that wakes a worker, among the two largest additions in every framework."""
    return span((need(data, f, "sync-noop", WAKE[POOL[f]], within=2) for f in frameworks(data)), "{:+.0f}")


@facts.fact
def hop_us(data: Data) -> str:
    return span((need(data, f, "sync-noop", HOP[POOL[f]]) for f in frameworks(data)), "{:.0f}")


@facts.fact
def sync_top_two(data: Data) -> str:
    """The headline's words for the two largest additions, once both are checked in every framework."""
    sync_send_us(data)
    wake_us(data)
    return "the call that wakes the worker and `socket.send`"


@facts.fact
def async_vs_noise(data: Data) -> str:
    """Whether the profile's round-to-round noise is more or less than what the task costs."""
    noise = max(spread(p["requests"]["none"]) for p in data["profiles"])
    loss = max(1 - r for r in task_ratios(data, "async-noop").values())
    return "more than" if noise > loss else "less than"


@facts.fact
def server_core(data: Data) -> str:
    """Carries "the server and its threads share one core": every profile's server was pinned to one."""
    cores = {tuple(p["taken"]["server_cpus"]) for p in data["profiles"] if "taken" in p}
    if len(cores) != 1 or len(next(iter(cores))) != 1 or len(data["profiles"]) != sum(
            "taken" in p for p in data["profiles"]):
        raise Contradicted(f"the profiled servers were not all pinned to one core: {sorted(cores)}")
    return f"core {next(iter(cores))[0]}"
