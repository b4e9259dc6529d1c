"""The event recorder: JSON lines that checks in another process can read.

Each line holds the event, the request id (the recipient address for mail events, the
log line for log events), the thread, whether that thread runs the event loop, the pid
and `time.monotonic()`, which is one clock for every process on the machine. The path
comes from `AFTERWARD_EVENTS`; with it unset, nothing is recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import time
from typing import Any

__all__ = ["EVENTS_ENV", "on_event_loop", "read_events", "record"]

EVENTS_ENV = "AFTERWARD_EVENTS"
_lock = threading.Lock()
_seq = itertools.count()


def on_event_loop() -> bool:
    """True when the calling thread is running an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def record(event: str, request_id: str | None, **extra: Any) -> None:
    path = os.environ.get(EVENTS_ENV)
    if not path:
        return
    line = {
        "event": event,
        "request_id": request_id,
        "thread_id": threading.get_ident(),
        "thread_name": threading.current_thread().name,
        "on_loop": on_event_loop(),
        "pid": os.getpid(),
        "t": time.monotonic(),
        **extra,
    }
    # One write() of an O_APPEND file per line: lines from threads and processes never interleave.
    with _lock:
        line["seq"] = next(_seq)  # this process's order of events, finer than the clock
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    # A line still being written by another process has no newline yet: leave it for later.
    return [json.loads(line) for line in text.split("\n")[:-1] if line.strip()]
