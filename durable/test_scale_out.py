"""Scale out: two web processes and two Celery workers on one Redis. Each notification is
delivered once, whichever web process took it, and both workers deliver.

Each worker runs one pool process (prefork, concurrency 1) and reserves one message at a
time (`worker_prefetch_multiplier=1`, acknowledged late): while one delivers, Redis hands
the next message to the other, which is waiting for it. A second worker that listens on
another database never gets one (and is caught); a web app that enqueues each notification
twice sends it twice (and is caught).
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import redis

from conformance.fixtures import fresh_address
from durable.delivery import BROKER_ENV
from durable.stack import Stack, durable_app
from durable.tasks import pending
from shared.recorder import read_events
from shared.sink import SmtpSink

#: Notifications sent, alternating between the two web processes.
NOTIFICATIONS = 40
#: Seconds for every one of them to be delivered and acknowledged.
DEADLINE = 60.0
def drained(url: str) -> None:
    """Polls, with a deadline, until no message is queued or delivered but unacknowledged."""
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + DEADLINE
    try:
        while pending(client):
            assert time.monotonic() < deadline, "messages still queued or unacknowledged"
            time.sleep(0.05)  # polling for acknowledgements that must come
    finally:
        client.close()


def scale_out(sink: SmtpSink, workdir: Path, app: str = durable_app("fastapi"),
              second_database: int = 0) -> tuple[Counter[int], list[int]]:
    """Sends the notifications through two web processes to two workers (the second on Redis's
    database `second_database`, the others' 0); per address, the number of e-mails the sink
    took -> how many addresses got that many; per worker, the notifications its processes sent."""
    stack = Stack(app, "uvicorn", sink.port, workdir, workers=0, concurrency=1)
    with stack.start(web=False):
        assert stack.redis is not None
        database = f"{stack.redis.url.rsplit('/', 1)[0]}/{second_database}"
        with ThreadPoolExecutor(4) as pool:  # the four processes start at once, each waited for
            starting = [pool.submit(stack.start_worker, "w1"),
                        pool.submit(stack.start_worker, "w2", **{BROKER_ENV: database}),
                        pool.submit(stack.start_web, workdir=workdir / "web1"),
                        pool.submit(stack.start_web, workdir=workdir / "web2")]
            workers, webs = [f.result() for f in starting[:2]], [f.result() for f in starting[2:]]
        addresses = [fresh_address() for _ in range(NOTIFICATIONS)]
        for n, address in enumerate(addresses):
            answer = httpx.post(f"{webs[n % 2].url}/send-notification/{address}", timeout=10)
            assert answer.status_code == 200, answer.text
        for address in addresses:
            sink.wait_for(address, timeout=DEADLINE)
        drained(stack.redis.url)
        events = read_events(stack.events_path)
        by_pid = {e["request_id"]: e["pid"] for e in events if e["event"] == "mail_sent"}
        per_worker = [sum(1 for a in addresses if by_pid.get(a) in w.pids()) for w in workers]
        sends = Counter(sum(1 for m in sink.to(a) if m.delivered) for a in addresses)
        return sends, per_worker


def test_two_web_processes_and_two_workers_deliver_each_notification_once(sink: SmtpSink,
                                                                          tmp_path: Path) -> None:
    sends, per_worker = scale_out(sink, tmp_path)
    assert sends == {1: NOTIFICATIONS}, f"e-mails per notification -> notifications: {dict(sends)}"
    assert sum(per_worker) == NOTIFICATIONS and all(per_worker), f"sent by each worker: {per_worker}"


def test_a_second_worker_on_another_database_is_caught(sink: SmtpSink, tmp_path: Path) -> None:
    """It starts and says it is ready, on database 1, where nothing is ever queued."""
    sends, per_worker = scale_out(sink, tmp_path, second_database=1)
    assert sends == {1: NOTIFICATIONS} and per_worker == [NOTIFICATIONS, 0]


def test_a_web_app_that_enqueues_each_notification_twice_is_caught(sink: SmtpSink, tmp_path: Path) -> None:
    sends, per_worker = scale_out(sink, tmp_path, "durable.wrong_apps.doubling_app:app")
    assert sends == {2: NOTIFICATIONS}
