"""taskiq: the task and its enqueueing, on the same Redis as every engine.

The web app awaits `notify.kiq(...)` on its loop; the task id, a UUID taskiq makes, is the
idempotency key. The broker is taskiq-redis's stream broker, the one with acknowledgements: the
worker (`taskiq worker durable.taskiq_tasks:broker --ack-type when_executed`) acknowledges a
message once the task ran. A message a consumer took and never acknowledged is claimed again by
a worker once it has been idle `AFTERWARD_IDLE_TIMEOUT` seconds (default 600, taskiq-redis's).
The consumer group reads the stream from its start, so messages queued before any worker ran
are not skipped. A temporary failure comes back as a requeue, after the backoff.
"""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio
from taskiq import Context, TaskiqDepends, TaskiqEvents, TaskiqState
from taskiq.exceptions import SendTaskError
from taskiq_redis import RedisStreamBroker

from durable.delivery import (
    BROKER_TIMEOUT,
    ROUNDS,
    BrokerUnavailable,
    attach_records,
    backoff,
    broker_url,
    deliver_async,
    seconds,
)

__all__ = ["broker", "enqueue", "notify", "pending"]

#: A worker's read blocks half the broker time-out: a read that blocks longer than the socket time-out
#: (taskiq-redis's default block is 2 s) fails, and the worker process dies with what it runs.
broker = RedisStreamBroker(broker_url(), consumer_id="0", xread_block=int(BROKER_TIMEOUT * 500),
                           idle_timeout=int(seconds("AFTERWARD_IDLE_TIMEOUT", 600) * 1000),
                           socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT)
_marks: redis.asyncio.Redis | None = None


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _startup(state: TaskiqState) -> None:
    global _marks
    attach_records()
    _marks = redis.asyncio.Redis.from_url(broker_url())


@broker.task(task_name="afterward.notify")
async def notify(email: str, sender: str, log: str | None = None, context: Context = TaskiqDepends()) -> None:  # noqa: B008 (taskiq's idiom)
    assert _marks is not None
    outcome = await deliver_async(_marks, context.message.task_id, email, sender, log)
    rounds = int(context.message.labels.get("X-Taskiq-requeue", 0))
    if outcome == "temporary" and rounds < ROUNDS - 1:
        await asyncio.sleep(backoff(rounds))
        await context.requeue()


async def enqueue(email: str, sender: str, log: str | None) -> None:
    """`await notify.kiq(...)` on the loop."""
    try:
        await notify.kiq(email, sender, log)
    except SendTaskError as exc:  # what taskiq raises from the broker's error
        cause = exc.__cause__ or exc
        raise BrokerUnavailable(f"{type(cause).__name__}: {cause}") from exc


def pending(client: redis.Redis) -> int:
    """Messages the stream holds for the group: not yet read, or read and not acknowledged."""
    if not client.exists(broker.queue_name):
        return 0
    return sum(g["pending"] + (g["lag"] or 0) for g in client.xinfo_groups(broker.queue_name))
