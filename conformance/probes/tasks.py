"""Framework-neutral pieces of the probes: task bodies, the handler's common steps, and
an ASGI wrapper that records response and app-completion events."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from conformance.gates import GATES_ENV, wait_gate, wait_gate_async
from shared.recorder import record

__all__ = ["CTX", "HandlerFailure", "TaskFailure", "handle", "observe", "steps"]

#: Set by handlers (`?ctx=before|after`), read by tasks.
CTX: ContextVar[str | None] = ContextVar("afterward_probe", default=None)


class TaskFailure(RuntimeError):
    pass


class HandlerFailure(RuntimeError):
    pass


def _gates() -> str:
    return os.environ[GATES_ENV]


def sync_task(rid: str, index: str, action: str) -> None:
    record("task_start", rid, task=index, ctx=CTX.get())
    if action in ("gate", "block"):
        wait_gate(_gates(), f"{rid}.{index}")
    if action == "fail":
        record("task_fail", rid, task=index)
        raise TaskFailure(f"{rid}.{index}")
    record("task_end", rid, task=index)


async def async_task(rid: str, index: str, action: str) -> None:
    record("task_start", rid, task=index, ctx=CTX.get())
    if action == "gate":
        await wait_gate_async(_gates(), f"{rid}.{index}")
    elif action == "block":
        wait_gate(_gates(), f"{rid}.{index}")  # deliberately blocking: the article's mistake
    if action == "fail":
        record("task_fail", rid, task=index)
        raise TaskFailure(f"{rid}.{index}")
    record("task_end", rid, task=index)


def steps(rid: str, plan: str) -> list[tuple[Callable[..., Any], str, str, str]]:
    """`"async:gate,sync:mark"` -> [(task function, rid, index, action), ...]."""
    out = []
    for index, step in enumerate(filter(None, plan.split(","))):
        kind, _, action = step.partition(":")
        if kind not in ("sync", "async") or action not in ("mark", "gate", "block", "fail"):
            raise ValueError(f"bad plan step {step!r}")
        out.append((sync_task if kind == "sync" else async_task, rid, str(index), action))
    return out


def dependency_task(rid: str) -> tuple[Callable[..., Any], str, str, str]:
    return (async_task, rid, "dep", "mark")


async def handle(rid: str, query: Any, add: Callable[..., Any]) -> None:
    """The handler's common steps around native registration with `add(fn, *args)`."""
    if query.get("ctx") == "before":
        CTX.set(rid)
    for fn, *args in steps(rid, query.get("plan", "")):
        add(fn, *args)
    if query.get("ctx") == "after":
        CTX.set(rid)
    if query.get("handler_gate"):
        await wait_gate_async(_gates(), f"{rid}.handler")
    if query.get("fail"):
        raise HandlerFailure(rid)


def register_sync(rid: str, query: Any, add: Callable[..., Any]) -> None:
    """What a `def` endpoint does: set the context variable, then register."""
    CTX.set(rid)
    for fn, *args in steps(rid, query.get("plan", "")):
        add(fn, *args)


def ping(rid: str) -> dict[str, str]:
    record("ping", rid)
    return {"rid": rid}


ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
                   Awaitable[None]]


def observe(app: ASGIApp) -> ASGIApp:
    """Records `response_complete` when the app hands over its last body chunk and `app_done`
    when its ASGI call returns (after any tasks it runs inline)."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        rid = scope["path"].rstrip("/").rpartition("/")[2]

        async def send_observed(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                record("response_complete", rid)
            await send(message)

        try:
            await app(scope, receive, send_observed)
        except BaseException as error:
            record("app_done", rid, error=type(error).__name__)
            raise
        record("app_done", rid, error=None)

    return wrapped
