"""Sustained load: every accepted notification delivered once, no 5xx, memory growth bounded."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from conformance.fixtures import Pair, start_live
from reliability import LOAD_REQUESTS, LOAD_SECONDS
from reliability.delivery import Tally
from shared.sink import SmtpSink

CONCURRENCY = 16
#: The run goes in chunks, each waited out at the SMTP server, so the backlog of pending
#: tasks (Litestar and Quart run `def` tasks in asyncio's 6-thread default pool while the
#: answers go out) is bounded by a chunk. That backlog lifts the memory's high-water mark
#: in the first chunks and CPython keeps what it took; a leak keeps growing. The check:
#: the second half of the chunks adds less than this.
CHUNKS = 10
RSS_GROWTH_LIMIT_KIB = 16 * 1024


@dataclass
class Answers:
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: set[str] = field(default_factory=set)  # the addresses answered 200
    transport_errors: dict[str, str] = field(default_factory=dict)  # address -> error, no answer at all


async def drive(url: str, prefix: str, count: int, deadline: float, answers: Answers | None = None,
                stop: threading.Event | None = None) -> Answers:
    """`count` requests to distinct addresses `prefixN@example.com`, CONCURRENCY at a time, counted
    into `answers` as they come; until `stop` is set, where one is given."""
    answers = Answers() if answers is None else answers
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    # Idle connections are dropped well before the servers' 5-s keep-alive time-out, so the
    # client never reuses one the server is closing at that moment.
    limits = httpx.Limits(max_connections=CONCURRENCY, keepalive_expiry=1.0)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty() and time.monotonic() < deadline and not (stop and stop.is_set()):
                n = queue.get_nowait()
                address = f"{prefix}{n}@example.com"
                sender = ("sync", "async")[n % 2]
                try:
                    response = await client.post(f"/send-notification/{address}",
                                                 params={"sender": sender, "q": f"load {n}"})
                except httpx.TransportError as error:  # counted and compared, not a crash of the run
                    answers.transport_errors[address] = repr(error)
                    continue
                answers.statuses[response.status_code] += 1
                if response.status_code == 200:
                    answers.accepted.add(address)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return answers


def test_sustained_load_delivers_every_accepted_notification(pair: Pair, sink: SmtpSink, tmp_path: Path,
                                                            metric) -> None:
    """Clause 3 under load: each address answered 200 delivered exactly once, zero 5xx."""
    prefix = f"l{uuid.uuid4().hex[:6]}"
    live = start_live(pair, sink, tmp_path)
    try:
        warm = asyncio.run(drive(live.url, prefix + "warm-", 50, time.monotonic() + 60))
        sink.wait_delivered(warm.accepted, prefix + "warm-", timeout=60)
        rss = [live.rss_kib()]
        total = Answers()
        started = time.monotonic()
        for chunk in range(CHUNKS):
            tag = f"{prefix}c{chunk}-"
            answers = asyncio.run(drive(live.url, tag, LOAD_REQUESTS // CHUNKS, started + LOAD_SECONDS))
            # Bounds the backlog; whatever this wait misses, the final count below still sees.
            left = max(1.0, started + LOAD_SECONDS - time.monotonic())
            sink.wait_delivered(answers.accepted, tag, timeout=left)
            rss.append(live.rss_kib())
            total.statuses.update(answers.statuses)
            total.accepted |= answers.accepted
            total.transport_errors.update(answers.transport_errors)
        elapsed = time.monotonic() - started
    finally:
        # The barrier before counting: a graceful stop ends every task still running,
        # so a late duplicate or a late delivery is in the count, not after it.
        live.server.stop(grace=60)
    tally = Tally.of(total.accepted, sink.deliveries(prefix + "c").update())
    requests = sum(total.statuses.values()) + len(total.transport_errors)
    errors = sum(n for code, n in total.statuses.items() if code >= 500)
    metric(pair, "load_requests", requests, LOAD_REQUESTS, requests_per_s=round(requests / elapsed),
           concurrency=CONCURRENCY, chunks=CHUNKS)
    metric(pair, "load_5xx", errors, 0)
    metric(pair, "load_transport_errors", len(total.transport_errors), 0,
           examples=dict(list(total.transport_errors.items())[:3]))
    metric(pair, "load_accepted", len(total.accepted), requests, statuses=dict(total.statuses))
    metric(pair, "load_delivered", tally.ratio(), f"{len(tally.accepted)}/{len(tally.accepted)}",
           **tally.sample())
    metric(pair, "load_duplicates", tally.duplicates, 0)
    metric(pair, "load_unexpected_deliveries", len(tally.unexpected), 0)
    half = rss[CHUNKS // 2]
    metric(pair, "load_rss_second_half_kib", rss[-1] - half < RSS_GROWTH_LIMIT_KIB, True,
           rss=f"{rss[0]} -> {half} -> {rss[-1]}", growth_kib=rss[-1] - rss[0],
           second_half_growth_kib=rss[-1] - half, limit_kib=RSS_GROWTH_LIMIT_KIB, after_each_chunk=rss)
    assert requests == LOAD_REQUESTS, f"the run hit its {LOAD_SECONDS:g}-s bound"
    assert errors == 0 and not total.transport_errors and len(total.accepted) == requests
    assert not tally.missing and tally.duplicates == 0 and not tally.unexpected, (
        f"{len(tally.missing)} lost, {tally.duplicates} duplicates, {len(tally.unexpected)} unexpected: "
        f"{tally.sample(2)}")
    assert rss[-1] - half < RSS_GROWTH_LIMIT_KIB, "memory still growing in the second half"
