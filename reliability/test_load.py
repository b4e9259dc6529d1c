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
#: What 10,000 notifications may add to a server process's resident memory.
RSS_GROWTH_LIMIT_KIB = 64 * 1024


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
    rss_before = live.rss_kib()
    started = time.monotonic()
    statuses = asyncio.run(drive(live.url, prefix, LOAD_REQUESTS, started + LOAD_SECONDS))
    elapsed = time.monotonic() - started
    accepted = statuses.get(200, 0)
    delivered = sink.wait_prefix(prefix + "-", accepted, timeout=LOAD_SECONDS)
    rss_after = live.rss_kib()
    errors = sum(n for code, n in statuses.items() if code >= 500)
    metric(pair, "load_requests", sum(statuses.values()), requests_per_s=round(sum(statuses.values()) / elapsed))
    metric(pair, "load_5xx", errors, 0)
    metric(pair, "load_delivered", f"{delivered}/{accepted}", f"{accepted}/{accepted}")
    metric(pair, "load_rss_kib", f"{rss_before} -> {rss_after}", growth_kib=rss_after - rss_before)
    assert sum(statuses.values()) == LOAD_REQUESTS, f"the run hit its {LOAD_SECONDS:g}-s bound"
    assert errors == 0 and delivered == accepted == LOAD_REQUESTS
    assert rss_after - rss_before < RSS_GROWTH_LIMIT_KIB
