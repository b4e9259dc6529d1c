"""The durable apps' numbers: what enqueueing costs the web server, and how fast workers drain.

- The enqueue cost: the web server process's CPU µs per `POST /send-notification/...` of a
  framework's durable app (the task goes to Redis) and of the same framework's in-process
  app (the task, the e-mail to the embedded SMTP sink, runs in the server after the
  answer), measured one after the other in one run under uvicorn, pinned like the rest of
  the bench. The in-process number is taken once every e-mail has arrived, so it holds
  the task's CPU; the durable one once every message is in Redis, with no worker running.
- The delivery rate: `backlog` notifications queued in Redis first, then one or two Celery
  workers started together (prefork, one pool process each: two workers are twice the
  capacity), and each e-mail's arrival at the sink: notifications/s from the first arrival
  to the last, and the backlog over that time.

Nothing sleeps to synchronise: the waits poll a count with a deadline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.load import wrk
from bench.server import BenchServer
from durable.stack import Stack, durable_app
from shared.recorder import EVENTS_ENV
from shared.servers import FRAMEWORKS
from shared.sink import SmtpSink

#: Worker processes per Celery worker (prefork): one, so that two workers are twice the capacity.
CONCURRENCY = 1
#: Where the enqueue cost is measured: the same server as the bench's first.
SERVER = "uvicorn"
#: The queue, as kombu keeps it in Redis.
QUEUE = "celery"


@dataclass(frozen=True)
class DurableSize:
    seconds: int  # each closed-loop run of POSTs (wrk counts whole seconds)
    connections: int
    warmup: int  # POSTs before each measurement
    backlog: int  # notifications queued before the workers start
    limit: float = 120.0  # seconds the e-mails or the backlog may take before the run fails


FULL = DurableSize(seconds=3, connections=8, warmup=50, backlog=200)
QUICK = DurableSize(seconds=1, connections=8, warmup=20, backlog=40)


class Stuck(RuntimeError):
    pass


def until(done: Callable[[], bool], limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not done():
        if time.monotonic() > deadline:
            raise Stuck(f"{what} after {limit:g} s")
        time.sleep(0.02)  # polling a count with a deadline, in a benchmark


def delivered(sink: SmtpSink) -> int:
    """E-mails the sink took (each measurement has a sink of its own)."""
    return sum(1 for m in list(sink.received) if m.delivered)


def measure(workdir: Path, size: DurableSize, run: int, frameworks: list[str] | None = None,
            say: Callable[[str], None] = print) -> dict[str, Any]:
    """One run: the enqueue cost of each framework's durable app beside its in-process app,
    then the delivery rate with one and with two workers."""
    costs = []
    for framework in frameworks or list(FRAMEWORKS):
        row = {"framework": framework, "run": run, "server": SERVER,
               "inprocess": inprocess_cost(framework, workdir / f"{framework}-inprocess-{run}", size),
               "durable": durable_cost(framework, workdir / f"{framework}-durable-{run}", size)}
        costs.append(row)
        say(f"{framework}: in-process {row['inprocess']['cpu_us_per_request']:.0f} µs/req, durable "
            f"{row['durable']['cpu_us_per_request']:.0f} µs/req")
    rates = []
    for workers in (1, 2):
        rate = delivery(workdir / f"delivery-{workers}-{run}", size, workers)
        rates.append({"run": run, **rate})
        say(f"{workers} worker(s): {rate['per_s']:.0f} notifications/s, "
            f"{size.backlog} in {rate['seconds']:.2f} s")
    return {"enqueue": costs, "delivery": rates}


def warm_up(server: BenchServer, address: str, size: DurableSize) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for _ in range(size.warmup):
            http.post(f"/send-notification/{address}").raise_for_status()


def cost(server: BenchServer, address: str, size: DurableSize,
         settled: Callable[[int], None]) -> dict[str, Any]:
    """CPU µs per request: the server's CPU over the closed loop and whatever its requests
    started (`settled(warm-up + requests)` returns once that is done), over the requests."""
    warm_up(server, address, size)
    cpu = server.cpu_seconds()
    load = wrk(f"{server.url}/send-notification/{address}", size.seconds, size.connections, method="POST")
    settled(size.warmup + load.requests)
    cpu = server.cpu_seconds() - cpu
    return {"rps": load.rps, "p50_ms": load.p50_ms, "p99_ms": load.p99_ms, "requests": load.requests,
            "cpu_us_per_request": 1e6 * cpu / max(load.requests, 1), "errors": load.errors}


def inprocess_cost(framework: str, workdir: Path, size: DurableSize) -> dict[str, Any]:
    with SmtpSink() as sink:  # a sink of its own: the count it is polled for stays cheap to take
        return inprocess_cost_to(sink, framework, workdir, size)


def inprocess_cost_to(sink: SmtpSink, framework: str, workdir: Path, size: DurableSize) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    address = f"inprocess-{workdir.name}@example.com"
    env = {"AFTERWARD_SMTP_HOST": "127.0.0.1", "AFTERWARD_SMTP_PORT": str(sink.port),
           "AFTERWARD_LOG_PATH": str(workdir / "notifications.log")}
    with BenchServer(framework, SERVER, app=FRAMEWORKS[framework].app, log_path=workdir / "server.log",
                     env=env, unset=[EVENTS_ENV]) as server:
        return cost(server, address, size, lambda n: until(
            lambda: delivered(sink) >= n, size.limit, f"{framework}: not every e-mail arrived"))


def durable_cost(framework: str, workdir: Path, size: DurableSize) -> dict[str, Any]:
    address = f"durable-{workdir.name}@example.com"
    stack = Stack("", SERVER, 0, workdir, workers=0, extra_env={EVENTS_ENV: ""})
    with stack.start(web=False):
        assert stack.redis is not None
        queue = redis.Redis.from_url(stack.redis.url)
        with BenchServer(framework, SERVER, app=durable_app(framework), log_path=workdir / "server.log",
                         env=stack.env(), unset=stack.unset()) as server:
            try:
                return cost(server, address, size, lambda n: until(
                    lambda: queue.llen(QUEUE) >= n, size.limit, f"{framework}: not every message queued"))
            finally:
                queue.close()


def delivery(workdir: Path, size: DurableSize, workers: int) -> dict[str, Any]:
    """`size.backlog` notifications queued, then `workers` workers started together, sending to a
    sink of their own."""
    with SmtpSink() as sink:
        return delivery_to(sink, workdir, size, workers)


def delivery_to(sink: SmtpSink, workdir: Path, size: DurableSize, workers: int) -> dict[str, Any]:
    from durable.tasks import celery_app, notify

    stack = Stack("", SERVER, sink.port, workdir, workers=0, concurrency=CONCURRENCY,
                  extra_env={EVENTS_ENV: ""})
    addresses = [f"backlog-{workdir.name}-{n}@example.com" for n in range(size.backlog)]
    with stack.start(web=False):
        assert stack.redis is not None
        with celery_app.connection_for_write(stack.redis.url) as connection:
            for address in addresses:
                notify.apply_async((address, "sync", None), connection=connection)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda n: stack.start_worker(f"w{n + 1}"), range(workers)))
        wanted = set(addresses)
        until(lambda: wanted <= {r for m in list(sink.received) if m.delivered for r in m.rcpt_tos},
              size.limit, f"{workers} worker(s): the backlog did not drain")
    received = {a: [m for m in sink.received if a in m.rcpt_tos and m.delivered] for a in addresses}
    arrivals = sorted(min(m.arrived for m in received[a]) for a in addresses)
    first = arrivals[0]
    seconds = arrivals[-1] - first
    return {"workers": workers, "concurrency": CONCURRENCY, "notifications": size.backlog,
            "seconds": seconds, "per_s": (size.backlog - 1) / seconds if seconds else 0.0,
            "drain": [[round(t - first, 4), size.backlog - k] for k, t in enumerate(arrivals, 1)],
            "duplicates": sum(len(ms) for ms in received.values()) - size.backlog}


def run_all(runs: int, size: DurableSize, workdir: Path, frameworks: list[str] | None = None,
            say: Callable[[str], None] = lambda s: print(s, flush=True)) -> dict[str, Any]:
    """Every run: the `durable` member of the bench's data."""
    out: dict[str, Any] = {"size": vars(size) | {"server": SERVER, "concurrency": CONCURRENCY},
                           "enqueue": [], "delivery": []}
    started, load = time.monotonic(), os.getloadavg()[0]
    for run in range(1, runs + 1):
        say(f"[durable, run {run}/{runs}]")
        measured = measure(workdir, size, run, frameworks, say=lambda s: say("    " + s))
        out["enqueue"] += measured["enqueue"]
        out["delivery"] += measured["delivery"]
    out["seconds"] = round(time.monotonic() - started)
    out["load_1m"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    return out
