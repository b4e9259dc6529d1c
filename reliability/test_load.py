"""Sustained load: every accepted notification delivered, no 5xx, memory growth bounded."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from conformance.fixtures import Live, Pair
from reliability import LOAD_REQUESTS, LOAD_SECONDS
from shared.sink import SmtpSink

CONCURRENCY = 16
#: The run goes in chunks, each waited out at the SMTP server, so the backlog of pending
#: tasks (Litestar and Quart run `def` tasks in asyncio's 6-thread default pool while the
#: answers go out) is bounded by a chunk. That backlog lifts the memory's high-water mark
#: in the first chunks and CPython keeps what it took; a leak keeps growing. The check:
#: the second half of the chunks adds less than this.
CHUNKS = 10
RSS_GROWTH_LIMIT_KIB = 16 * 1024


async def drive(url: str, prefix: str, count: int, deadline: float) -> dict[int, int]:
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty() and time.monotonic() < deadline:
                n = queue.get_nowait()
                sender = ("sync", "async")[n % 2]
                response = await client.post(f"/send-notification/{prefix}-{n}@example.com",
                                             params={"sender": sender, "q": f"load {n}"})
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses


def test_sustained_load_delivers_every_accepted_notification(pair: Pair, live: Live, sink: SmtpSink,
                                                            metric) -> None:
    """Clause 3 under load: accepted == delivered (counted at the SMTP server), zero 5xx."""
    prefix = f"l{uuid.uuid4().hex[:6]}"
    asyncio.run(drive(live.url, prefix + "warm", 50, time.monotonic() + 60))
    sink.wait_prefix(prefix + "warm", 50)
    rss = [live.rss_kib()]
    statuses: dict[int, int] = {}
    delivered = 0
    started = time.monotonic()
    for chunk in range(CHUNKS):
        tag = f"{prefix}c{chunk}-"
        answered = asyncio.run(drive(live.url, tag, LOAD_REQUESTS // CHUNKS, started + LOAD_SECONDS))
        delivered += sink.wait_prefix(tag, answered.get(200, 0), timeout=LOAD_SECONDS)
        rss.append(live.rss_kib())
        for code, n in answered.items():
            statuses[code] = statuses.get(code, 0) + n
    elapsed = time.monotonic() - started
    accepted = statuses.get(200, 0)
    errors = sum(n for code, n in statuses.items() if code >= 500)
    metric(pair, "load_requests", sum(statuses.values()), requests_per_s=round(sum(statuses.values()) / elapsed))
    metric(pair, "load_5xx", errors, 0)
    metric(pair, "load_delivered", f"{delivered}/{accepted}", f"{accepted}/{accepted}")
    half = rss[CHUNKS // 2]
    metric(pair, "load_rss_kib", f"{rss[0]} -> {half} -> {rss[-1]}", growth_kib=rss[-1] - rss[0],
           second_half_growth_kib=rss[-1] - half, after_each_chunk=rss)
    assert sum(statuses.values()) == LOAD_REQUESTS, f"the run hit its {LOAD_SECONDS:g}-s bound"
    assert errors == 0 and delivered == accepted
    assert rss[-1] - half < RSS_GROWTH_LIMIT_KIB, "memory still growing in the second half"
