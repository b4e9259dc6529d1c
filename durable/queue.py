"""The seam the four durable apps enqueue through: the engine `AFTERWARD_ENGINE` names (default
`celery`; shared/axes.py's `ENGINES`), imported once.

`enqueue(email, sender, log)` is a coroutine in every engine, written as the engine's
documentation shows it: Celery's `.delay()` and Dramatiq's `.send()` block on Redis, so they run
in a thread; arq's `enqueue_job` and taskiq's `.kiq()` are awaited on the loop. It raises
`BrokerUnavailable` when the message could not be queued.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Awaitable, Callable

from durable.delivery import ENGINE_ENV, BrokerUnavailable, unavailable_body
from shared.axes import DEFAULT_ENGINE, ENGINES, Engine

__all__ = ["ENGINE", "BrokerUnavailable", "enqueue", "engine", "unavailable_body"]


def engine() -> Engine:
    """The engine this process runs on, from `AFTERWARD_ENGINE`; a name no record has is an error
    that lists the names there are."""
    name = os.environ.get(ENGINE_ENV) or DEFAULT_ENGINE.name
    try:
        return ENGINES[name]
    except KeyError:
        names = ", ".join(ENGINES)
        raise SystemExit(f"{ENGINE_ENV}={name!r}: no such engine; the engines are {names}") from None


ENGINE = engine()
enqueue: Callable[[str, str, str | None], Awaitable[None]] = importlib.import_module(ENGINE.module).enqueue
