"""The numbers the prose cites from the profiles (`data["profiles"]`), by name.

The prose names functions (`socket.send`, Litestar's `unwrap_partial`, ...). A fact that
cites them looks for each among that framework's largest additions for the endpoint (the
`bench.profile.TOP` kept in the data) and raises `Contradicted` when one is missing: the
sentence naming it would no longer be a reading of this profile.
"""

from __future__ import annotations

import re
from typing import Any

from bench.data import Data
from bench.facts import cpu_rise
from bench.template import Contradicted, Facts, and_list, span

facts = Facts()
Patterns = dict[str, tuple[str, ...]]

SEND = r"<method 'send' of '_socket\.socket' objects>"
#: "the task wrapper itself (`BackgroundTasks.__call__` and `add_task`, Starlette's
#: `is_async_callable` check through `inspect._has_code_flag`, Litestar's `unwrap_partial`)"
WRAPPER: Patterns = {
    "fastapi": (r"fastapi/background\.py:\d+\(__call__\)", r"\(add_task\)", r"\(_has_code_flag\)"),
    "starlette": (r"\(_has_code_flag\)",),
    "litestar": (r"\(unwrap_partial\)",),
}
#: Quart's additions are "that task's scheduling (the loop's `_call_soon` and `_run_once`,
#: Quart's task `_wrapper`, `Context.run`)"
QUART_SCHEDULING: Patterns = {
    "quart": (r"\(_call_soon\)", r"\(_run_once\)", r"quart/app\.py:\d+\(_wrapper\)",
              r"'run' of '_contextvars\.Context'"),
}
#: "FastAPI's pass-through `ExceptionTelemetryMiddleware`"
TELEMETRY: Patterns = {"fastapi": (r"telemetry/_asgi\.py:\d+\(__call__\)",)}
#: "anyio's `run_sync_in_worker_thread` and the lock release that wakes a worker in FastAPI
#: and Starlette; `SimpleQueue.put` of asyncio's `run_in_executor` in Litestar and Quart"
HOP: Patterns = {
    "fastapi": (r"\(run_sync_in_worker_thread\)", r"'release' of '_thread\.lock'"),
    "starlette": (r"\(run_sync_in_worker_thread\)", r"'release' of '_thread\.lock'"),
    "litestar": (r"'put' of '_queue\.SimpleQueue'",),
    "quart": (r"'put' of '_queue\.SimpleQueue'",),
}


def profile(data: Data, framework: str) -> dict[str, Any]:
    for found in data.get("profiles") or []:
        if found["framework"] == framework:
            return found
    raise Contradicted(f"the data has no profile of {framework}")


def extra(data: Data, framework: str, endpoint: str, pattern: str) -> float:
    """µs/request the function matching `pattern` added on `endpoint`, from the kept top list."""
    for row in profile(data, framework)[endpoint]:
        if re.search(pattern, row["function"]):
            return row["extra_us"]
    raise Contradicted(f"no function matching {pattern!r} among {framework}'s largest additions on "
                       f"/{endpoint}")


def named(data: Data, endpoint: str, table: Patterns) -> list[float]:
    return [extra(data, f, endpoint, pattern) for f, patterns in table.items() for pattern in patterns]


def change(data: Data, framework: str, endpoint: str) -> float:
    total = profile(data, framework)["total_us"]
    return total[endpoint] / total["none"] - 1


@facts.fact
def async_wrapper_us(data: Data) -> str:
    return span(named(data, "async-noop", WRAPPER), "{:.1f}")


@facts.fact
def quart_async_profile(data: Data) -> str:
    """Carries "Quart pays the most (... under the profiler, and the largest CPU rise)"."""
    frameworks = [p["framework"] for p in data["profiles"]]
    most = max(frameworks, key=lambda f: change(data, f, "async-noop"))
    rise = cpu_rise(data, "async-noop")
    steepest = max(rise, key=lambda p: rise[p])
    if most != "quart" or steepest[0] != "quart":
        raise Contradicted(f"the largest change under the profiler is {most}'s and the largest CPU rise "
                           f"{steepest[0]}-{steepest[1]}'s, not Quart's")
    return f"{change(data, 'quart', 'async-noop'):+.0%}"


@facts.fact
def quart_scheduling_us(data: Data) -> str:
    return f"{sum(named(data, 'async-noop', QUART_SCHEDULING)):.0f}"


@facts.fact
def sync_send_us(data: Data) -> str:
    """Carries "the profile's largest addition on the loop thread, in all four, is `socket.send`"."""
    others = [f"{p['framework']}'s is {p['sync-noop'][0]['function']}" for p in data["profiles"]
              if not re.search(SEND, p["sync-noop"][0]["function"])]
    if others:
        raise Contradicted("`socket.send` is not the largest addition on /sync-noop everywhere: "
                           + and_list(others))
    return span((p["sync-noop"][0]["extra_us"] for p in data["profiles"]), "{:+.0f}")


@facts.fact
def fastapi_telemetry_us(data: Data) -> str:
    return f"{sum(named(data, 'sync-noop', TELEMETRY)):.0f}"


@facts.fact
def hop_us(data: Data) -> str:
    return span(named(data, "sync-noop", HOP), "{:.0f}")
