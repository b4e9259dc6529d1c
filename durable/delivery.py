"""What every engine's task shares: the broker's address and time-outs, the 503 body, and the
delivery itself (the log line, then the e-mail, each skipped once its done-mark is in Redis).

An engine's module (shared/axes.py's `ENGINES`) holds only what differs: its task, how the web
app enqueues it (`async def enqueue(email, sender, log)`), and how a temporary failure comes back
as a later round. The notification's idempotency key is the id the engine gives the message when
the web app enqueues it (Celery's task id, arq's job id, Dramatiq's message id, taskiq's task
id): a UUID every redelivery keeps.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio

from shared.logwriter import write_log
from shared.mailer import Outcome, write_notification, write_notification_async

__all__ = ["BROKER_ENV", "BROKER_TIMEOUT", "BROKER_UNAVAILABLE", "DONE_TTL_S", "ENGINE_ENV",
           "HUNG_BROKER_WAITS", "PUBLISH_TRIES", "ROUNDS", "BrokerUnavailable", "answer_bound",
           "attach_records", "backoff", "broker_url", "deliver", "deliver_async", "done_key", "seconds",
           "unavailable_body"]

BROKER_ENV = "AFTERWARD_BROKER_URL"
#: The engine the web app enqueues on and the worker runs (shared/axes.py's `ENGINES`).
ENGINE_ENV = "AFTERWARD_ENGINE"
#: Rounds of the sender's attempts (clause 9's AFTERWARD_SMTP_ATTEMPTS each) before a
#: notification whose SMTP server stays unreachable is given up, with clause 10's ERROR line.
ROUNDS = int(os.environ.get("AFTERWARD_DURABLE_ROUNDS") or 5)
#: How long a step's done-mark stays in Redis: far longer than any redelivery takes.
DONE_TTL_S = 7 * 24 * 3600
#: The `error` member of the 503 body a durable app answers when it cannot enqueue.
BROKER_UNAVAILABLE = "broker_unavailable"


def seconds(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


#: Seconds the broker has to accept a connection, and then to answer each command (clause 14).
BROKER_TIMEOUT = seconds("AFTERWARD_BROKER_TIMEOUT", 2)
#: A publish's tries: the first and one more, on a fresh connection (a broker restarted since the
#: pooled one was made answers the second).
PUBLISH_TRIES = 2
#: The replies a publish waits for from a broker that accepts and never answers: its command's,
#: then one for each of two attempts at a new connection.
HUNG_BROKER_WAITS = 3


def answer_bound(timeout: float = BROKER_TIMEOUT) -> float:
    """The longest a request waits for a broker that accepts and never answers before its 503: the
    replies it waits for, and one time-out more for all else (the handler, the thread, the step
    between attempts)."""
    return (HUNG_BROKER_WAITS + 1) * timeout


class BrokerUnavailable(Exception):
    """The notification was not enqueued: the broker could not be reached, or did not answer."""


def unavailable_body(exc: Exception) -> dict[str, str]:
    """The 503 body: the notification was not enqueued, so nothing will be sent; try again."""
    return {"error": BROKER_UNAVAILABLE, "detail": f"the notification was not queued: {exc}"}


def broker_url() -> str:
    return os.environ.get(BROKER_ENV) or "redis://127.0.0.1:6379/0"


def backoff(round_: int) -> float:
    """Seconds before the round after round `round_` (0 first): 1, 2, 4, ..., at most 30."""
    return float(min(2**round_, 30))


def done_key(key: str, step: str) -> str:
    return f"afterward:done:{key}:{step}"


def _once(marks: redis.Redis, key: str, step: str, run: Callable[[], Outcome | None]) -> Outcome | None:
    """Runs a step unless its done-mark says a delivery of this same message already ran it;
    marks it done unless it failed in a way worth another round."""
    if marks.exists(done_key(key, step)):
        return None
    outcome = run()
    if outcome != "temporary":
        marks.set(done_key(key, step), 1, ex=DONE_TTL_S)
    return outcome


def deliver(marks: redis.Redis, key: str, email: str, sender: str, log: str | None) -> Outcome | None:
    """Clause 2 then clause 3 in a worker's thread: the log line (when there is one), then the
    e-mail, the `async def` sender on an event loop of this call's own. None when the e-mail's
    done-mark was already there."""
    if log:
        _once(marks, key, "log", lambda: write_log(log))
    if sender == "async":
        return _once(marks, key, "mail", lambda: asyncio.run(write_notification_async(email)))
    return _once(marks, key, "mail", lambda: write_notification(email))


async def _once_async(marks: redis.asyncio.Redis, key: str, step: str,
                      run: Callable[[], Awaitable[Outcome | None]]) -> Outcome | None:
    if await marks.exists(done_key(key, step)):
        return None
    outcome = await run()
    if outcome != "temporary":
        await marks.set(done_key(key, step), 1, ex=DONE_TTL_S)
    return outcome


async def deliver_async(marks: redis.asyncio.Redis, key: str, email: str, sender: str,
                        log: str | None) -> Outcome | None:
    """The same on a worker's event loop: the `async def` sender on it, the `def` sender and the
    log line in a thread (they block)."""
    if log:
        await _once_async(marks, key, "log", lambda: asyncio.to_thread(write_log, log))
    if sender == "async":
        return await _once_async(marks, key, "mail", lambda: write_notification_async(email))
    return await _once_async(marks, key, "mail", lambda: asyncio.to_thread(write_notification, email))


def attach_records() -> None:
    """The `afterward.mailer` records also go to the file `AFTERWARD_RECORDS` names, one
    `LEVEL name message` line each (the contract tier reads clause 10's ERROR line there). Called
    by a worker once its engine has set up logging."""
    path = os.environ.get("AFTERWARD_RECORDS")
    if not path:
        return
    handler = logging.FileHandler(path, encoding="utf-8")  # append mode: processes' lines never interleave
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("afterward.mailer")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
