"""Dramatiq: the actor and its enqueueing, on the same Redis as every engine.

The web app calls `notify.send(...)`, which blocks on Redis, in a thread; the message id, a
UUID Dramatiq makes, is the idempotency key. The worker (`dramatiq durable.dramatiq_tasks`) runs
the actor in its threads and acknowledges a message after it ran. A message whose worker stopped
heart-beating for `AFTERWARD_HEARTBEAT_TIMEOUT` seconds (default 60, Dramatiq's) is put back
during maintenance, which a command runs by chance (`AFTERWARD_MAINTENANCE_CHANCE` in a million:
1,000 by default, Dramatiq's). A temporary failure comes back as `Retry`, a later delivery.
"""

from __future__ import annotations

import asyncio

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage, Middleware

from durable.delivery import (
    BROKER_TIMEOUT,
    ROUNDS,
    BrokerUnavailable,
    attach_records,
    backoff,
    broker_url,
    deliver,
    seconds,
)

__all__ = ["broker", "enqueue", "notify", "pending"]


class _Records(Middleware):
    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        attach_records()


_client = redis.Redis.from_url(broker_url(), socket_connect_timeout=BROKER_TIMEOUT,
                               socket_timeout=BROKER_TIMEOUT)
broker = RedisBroker(client=_client, heartbeat_timeout=int(seconds("AFTERWARD_HEARTBEAT_TIMEOUT", 60) * 1000),
                     maintenance_chance=int(seconds("AFTERWARD_MAINTENANCE_CHANCE", 1000)))
broker.add_middleware(CurrentMessage())
broker.add_middleware(_Records())
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name="afterward.notify", max_retries=ROUNDS - 1)
def notify(email: str, sender: str, log: str | None = None) -> None:
    message = CurrentMessage.get_current_message()
    assert message is not None
    outcome = deliver(_client, message.message_id, email, sender, log)
    if outcome == "temporary":
        retries = message.options.get("retries", 0)
        raise dramatiq.Retry(f"round {retries + 1} ended on a temporary failure",
                             delay=int(backoff(retries) * 1000))


async def enqueue(email: str, sender: str, log: str | None) -> None:
    """`notify.send(...)`, in a thread: the Redis broker publishes with redis-py's blocking client."""
    try:
        await asyncio.to_thread(notify.send, email, sender, log)
    except (redis.RedisError, OSError) as exc:
        raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc


def pending(client: redis.Redis) -> int:
    """Messages not yet acknowledged, queued, delayed or running: each stays in its queue's hash of
    messages until it is."""
    queue = notify.queue_name
    return sum(client.hlen(f"{broker.namespace}:{name}.msgs") for name in (queue, f"{queue}.DQ"))
