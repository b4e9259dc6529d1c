"""What the benchmark apps' tasks do, and what the apps count.

Every app serves the same routes:

- `GET /none`: no task (the baseline, and the "plain endpoint" of the latency runs);
- `GET /async-noop`, `GET /sync-noop`: one no-op `async def` / `def` task;
- `GET /notify`: one `def` task that sends the spec's notification (clause 3, the `def`
  sender) to `NOTIFY_TO`, over SMTP to `AFTERWARD_SMTP_HOST`:`AFTERWARD_SMTP_PORT`;
- `GET /{kind}/{ms}` with `kind` in `async-sleep` (awaits), `async-block` (blocks the
  loop with `time.sleep`), `sync-block` (a `def` task that blocks its thread): one
  counted task that takes `ms` milliseconds;
- `GET /stats` (`?reset=1` starts a new count): counted tasks registered and done, and
  the task lag (response sent to task done) of those done;
- `GET /health`.

The lag needs the moment the response was sent: `stamped` wraps the app in a few lines
of ASGI that note it in the request's scope, which the handler hands to the task. All
five apps, the bare one included, are wrapped the same way.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from shared.mailer import write_notification
from shared.spec import NOTIFICATION_MESSAGE

OK = {"ok": True}
SLOT = "afterward.bench.slot"  # scope key: [response sent, task done], monotonic seconds
KINDS = ("async-sleep", "async-block", "sync-block")
#: The one recipient of `GET /notify`'s e-mails: the bench's sink counts them.
NOTIFY_TO = "bench@example.com"

registered: list[None] = []  # list.append is atomic: `def` tasks finish on worker threads
finished: list[list[float]] = []


async def noop_async() -> None:
    pass


def noop_sync() -> None:
    pass


def notify() -> None:
    """The spec's notification, sent as the `def` sender sends it: the same task as `noop_sync`,
    with real work in it."""
    write_notification(NOTIFY_TO, message=NOTIFICATION_MESSAGE)


async def sleep_async(ms: int, slot: list[float]) -> None:
    await asyncio.sleep(ms / 1000)
    _done(slot)


async def block_async(ms: int, slot: list[float]) -> None:
    time.sleep(ms / 1000)  # the article's mistake: a blocking call in an `async def` task
    _done(slot)


def block_sync(ms: int, slot: list[float]) -> None:
    time.sleep(ms / 1000)
    _done(slot)


def _done(slot: list[float]) -> None:
    slot[1] = time.monotonic()
    finished.append(slot)


def counted(kind: str, ms: int, scope: dict[str, Any]) -> tuple[Callable[..., Any], int, list[float]]:
    """The task (function and arguments) for `GET /{kind}/{ms}`; counts it as registered."""
    if kind not in KINDS:
        raise LookupError(kind)
    registered.append(None)
    task = {"async-sleep": sleep_async, "async-block": block_async, "sync-block": block_sync}[kind]
    return task, ms, scope[SLOT]


def stats(reset: bool = False) -> dict[str, Any]:
    lags = sorted(done - sent for sent, done in finished)
    body = {"registered": len(registered), "done": len(finished), "pending": len(registered) - len(finished),
            "lag_ms": _percentiles(lags)}
    if reset:
        registered.clear()
        finished.clear()
    return body


def _percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {"p50": round(q[49] * 1000, 2), "p99": round(q[98] * 1000, 2), "max": round(values[-1] * 1000, 2)}


def stamped(app: Callable[..., Any]) -> Callable[..., Any]:
    """ASGI wrapper: `scope[SLOT][0]` becomes the moment the last body chunk was sent."""

    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        slot = scope[SLOT] = [0.0, 0.0]

        async def send_and_stamp(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                slot[0] = time.monotonic()

        await app(scope, receive, send_and_stamp)

    return wrapper
