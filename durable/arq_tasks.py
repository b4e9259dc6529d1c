"""arq: the task and its enqueueing, on the same Redis as every engine.

The web app awaits `pool.enqueue_job` on its loop (arq is asyncio throughout); the job id, a
UUID arq makes, is the idempotency key. The worker (`arq durable.arq_tasks.WorkerSettings`)
runs the task on its loop: the `async def` sender there, the `def` sender in a thread. arq has
no acknowledgement: a job's in-progress key expires `job_timeout` + 10 s after a worker took it,
and only then does a job whose worker died run again ("jobs may be called more than once").
`AFTERWARD_JOB_TIMEOUT` (default 300, arq's) sets it. A stop is not a crash: on SIGTERM the
worker lets its running jobs finish (`job_completion_wait`) before it exits. A temporary failure
comes back as `Retry`, the job's next try.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import redis
from arq import Retry, create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import default_queue_name
from arq.worker import func
from redis.exceptions import RedisError

from durable.delivery import (
    BROKER_TIMEOUT,
    HUNG_BROKER_WAITS,
    PUBLISH_TRIES,
    ROUNDS,
    BrokerUnavailable,
    attach_records,
    backoff,
    broker_url,
    deliver_async,
    seconds,
)

__all__ = ["WorkerSettings", "enqueue", "notify", "pending"]


def redis_settings() -> RedisSettings:
    settings = RedisSettings.from_dsn(broker_url())
    settings.conn_timeout = int(BROKER_TIMEOUT) or 1
    settings.conn_retries = PUBLISH_TRIES - 1
    settings.conn_retry_delay = 0
    return settings


_pool: ArqRedis | None = None


async def enqueue(email: str, sender: str, log: str | None) -> None:
    """`await pool.enqueue_job(...)` on the loop, the pool made on the first request. arq's pool
    waits for a reply without end, so each try is bounded by the broker time-out's waits."""
    global _pool
    for attempt in range(PUBLISH_TRIES):
        try:
            async with asyncio.timeout(HUNG_BROKER_WAITS * BROKER_TIMEOUT / PUBLISH_TRIES):
                if _pool is None:
                    _pool = await create_pool(redis_settings())
                await _pool.enqueue_job("afterward.notify", email, sender, log)
            return
        except (RedisError, OSError, TimeoutError) as exc:
            if attempt == PUBLISH_TRIES - 1:
                raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc


async def notify(ctx: dict[str, Any], email: str, sender: str, log: str | None = None) -> None:
    outcome = await deliver_async(ctx["redis"], ctx["job_id"], email, sender, log)
    if outcome == "temporary" and ctx["job_try"] < ROUNDS:
        raise Retry(defer=backoff(ctx["job_try"] - 1))


async def _startup(ctx: dict[str, Any]) -> None:
    attach_records()


class WorkerSettings:
    functions = [func(notify, name="afterward.notify")]
    redis_settings = redis_settings()
    on_startup = _startup
    max_jobs = int(os.environ.get("AFTERWARD_WORKER_CONCURRENCY") or 10)
    max_tries = ROUNDS
    job_timeout = seconds("AFTERWARD_JOB_TIMEOUT", 300)
    #: On SIGTERM, stop taking jobs and let the running ones finish (for as long as a job may run)
    #: before cancelling what is left: arq's default (0) cancels them at once, and a delivery whose
    #: e-mail the SMTP server already has is then run again, and sent twice.
    job_completion_wait = int(job_timeout)
    keep_result = 0


def pending(client: redis.Redis) -> int:
    """Jobs in the queue: a job stays there, queued or running, until it is done."""
    return client.zcard(default_queue_name)
