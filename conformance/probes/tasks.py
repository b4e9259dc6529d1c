"""Framework-neutral pieces of the probes: task bodies, the handler's common steps, an ASGI
wrapper that records response and app-completion events, and the knobs of the wrong probes.

A wrong probe is a probe started with `AFTERWARD_PROBE_FLIP=knob,...`: each knob changes one
thing about how tasks are registered or run (`KNOBS`), so that a property's observation
must come out differently. `conformance/flips.toml` says which knobs flip which cell, and
`python -m conformance.flips` checks that the suite reports each as a mismatch.

A probe started with `AFTERWARD_PROBE_RECIPE=name` uses the parts of `recipes/<name>.py` that
`conformance/recipes.toml` names (`recipe_part`) in place of its own: the app it serves, the
way it adds a task, the framework's `BackgroundTasks` class.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import logging
import os
import re
import signal
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from functools import wraps
from typing import Any

from conformance.gates import GATES_ENV, arrive, wait_gate, wait_gate_async
from shared.recorder import record

__all__ = [
    "CTX",
    "FLIP_ENV",
    "KNOBS",
    "HandledTaskFailure",
    "HandlerFailure",
    "TaskFailure",
    "cancel_after_response",
    "flipped",
    "handle",
    "handled_failure",
    "observe",
    "upload_reader",
    "recipe_part",
    "steps",
    "with_recipe",
]

#: Set by handlers (`?ctx=before|after`), read by tasks.
CTX: ContextVar[str | None] = ContextVar("afterward_probe", default=None)

FLIP_ENV = "AFTERWARD_PROBE_FLIP"

#: Every knob a wrong probe can turn, and what it does.
KNOBS = {
    "inline": "run each task in the handler, when it is added",
    "defer": "start each task only once the response has left the app",
    "concurrent": "start each task at once as an asyncio task of its own",
    "chain": "register one task that runs the request's tasks one after another",
    "reverse": "register the tasks in reverse order",
    "isolate": "swallow a task's exception, so the tasks after it run",
    "late": "register the tasks at the end of the handler (after its gate, context change and failure)",
    "block_off_loop": "an `async def` task's blocking call goes to a worker thread",
    "exit_on_block": "an `async def` task's blocking call ends its process instead: a worker that dies",
    "sync_on_loop": "run `def` tasks on the event loop",
    "async_in_thread": "run `async def` tasks in a worker thread, on a loop of their own",
    "fresh_context": "run each `async def` task in an empty context",
    "bind_context": "run each `async def` task in a copy of the context taken when it was added",
    "small_pool": "shrink the thread pools (anyio's limiter and the loop's default executor) to 3",
    "close_conn": "answer with `Connection: close`",
    "hold_final": "hold the final (empty) body message until the request's tasks have ended",
    "propagate": "once the request's tasks have ended, raise from the app's call if one of them raised",
    "queue_behind_tasks": "a request reaches the app only once every task added before it has ended",
    "cancel_on_disconnect": "cancel the app's call when the client hangs up",
    "drop_after_gate": "drop the tasks of a handler that was held at its gate, as if the client had gone",
    "early": "register the tasks before the handler's first `await`, even where the request asks for after",
    "exit_on_term": "end the process at once on SIGTERM (where the signal reaches the app's process)",
    "ignore_term": "ignore SIGTERM (where the signal reaches the app's process): a server that never exits",
    "hold_shutdown": "hold the lifespan shutdown 3 s before the app sees it: a server that exits late",
    "exit_at_shutdown": "end the process at once when the lifespan shutdown comes (threads and all)",
    "dep_last": "the dependency's (or hook's) task is registered after the handler's",
    "swap_scopes": "FastAPI: the two `yield` dependencies swap scopes",
    "merge_background": "FastAPI: the returned Response's background also runs the injected tasks",
    "no_task_group": "Litestar: `run_in_task_group=False`",
    "no_response_background": "Litestar: the returned Response sets no `background`",
    "mw_cancel": "behind the pass-through middleware: cancel the app's call once its response is sent",
    "cleanup_first": "FastAPI: the `yield` dependency does its clean-up (and adds its task) before it yields",
    "handler_in_task": "a task's `HandledTaskFailure` goes to the registered handler's code, then on up",
    "copy_upload": "hand the upload-reading task a copy of the uploaded file's bytes, read in the handler",
    "close_upload": "close the uploaded file in the handler, after adding the task that reads it",
}
_knobs = frozenset(filter(None, os.environ.get(FLIP_ENV, "").split(",")))
if _knobs - set(KNOBS):
    raise RuntimeError(f"{FLIP_ENV}: unknown knob(s) {', '.join(sorted(_knobs - set(KNOBS)))}")


def flipped(knob: str) -> bool:
    return knob in _knobs


def recipe_part(part: str, default: Any) -> Any:
    """What the probe's recipe puts in place of `default` (`apply`, `add` or `tasks`), or `default`."""
    from conformance.recipes import RECIPE_ENV, recipes

    name = os.environ.get(RECIPE_ENV)
    if not name:
        return default
    recipe = recipes()[name]
    attr = getattr(recipe, part)
    return getattr(importlib.import_module(recipe.module), attr) if attr else default


def with_recipe(app: Any) -> Any:
    """The framework's app, as the probe's recipe (if any) sets it up."""
    return recipe_part("apply", lambda same: same)(app)


class TaskFailure(RuntimeError):
    pass


class HandlerFailure(RuntimeError):
    pass


class HandledTaskFailure(TaskFailure):
    """What a task raises with `fail_handled`: the type each probe registers an exception handler for."""


def handled_failure(error: BaseException) -> str:
    """What each probe's exception handler for `HandledTaskFailure` does: record that it ran."""
    rid = str(error).rpartition(".")[0]
    record("exception_handler", rid, error=type(error).__name__)
    return rid


# -- the app's log, as the task's failure reaches it ----------------------------------------------

#: The task's failure in a traceback written out as text: `...TaskFailure: <rid>.<index>`.
_failure_text = re.compile(r"TaskFailure: (\S+)\.\w+")


def _failure_in(error: BaseException | None, seen: set[int] | None = None) -> BaseException | None:
    """The task's own failure, in `error` or in what it was raised from (causes, groups)."""
    seen = set() if seen is None else seen
    if error is None or id(error) in seen:
        return None
    seen.add(id(error))
    if isinstance(error, TaskFailure):
        return error
    inner = list(getattr(error, "exceptions", ())) + [error.__cause__, error.__context__]
    return next((found for e in inner if (found := _failure_in(e, seen)) is not None), None)


def _log_record_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """Every record a logger makes, from any logger and whatever its handlers, passes here
    (`logging.setLogRecordFactory`). A record at ERROR or above is an event `log_record`: the
    logger's name and the exception it carries (the logged one, which may wrap the task's), under
    the request id of the task's failure in it. A server that writes the traceback into the message
    itself (from code outside Python) gives only the logged exception's own traceback: its type and
    message are the text's last line, and where the task's failure is not in it (it was raised from
    it), the record has no request id, and a test takes it by its place among the events."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = make(*args, **kwargs)
        if made.levelno < logging.ERROR:
            return made
        logged = made.exc_info[1] if made.exc_info else None
        if logged is not None:
            failure = _failure_in(logged)
            rid = str(failure).rpartition(".")[0] if failure is not None else None
            kind, message = type(logged).__name__, str(logged)
        else:
            try:
                text = made.getMessage()
            except (TypeError, ValueError):  # arguments that do not fit the message: read it as it is
                text = str(made.msg)
            found = _failure_text.search(text)
            rid = found.group(1) if found is not None else None
            last = text.strip().splitlines()[-1] if text.strip() else ""
            kind, _, message = last.partition(": ") if ": " in last else ("none", "", last)
            kind = kind.rpartition(".")[2]
        record("log_record", rid, logger=made.name, level=made.levelname, exc_type=kind, exc_message=message)
        return made

    return factory


logging.setLogRecordFactory(_log_record_factory(logging.getLogRecordFactory()))


def _gates() -> str:
    return os.environ[GATES_ENV]


def sync_task(rid: str, index: str, action: str) -> None:
    record("task_start", rid, task=index, ctx=CTX.get())
    if action in ("gate", "block"):
        wait_gate(_gates(), f"{rid}.{index}")
    if action in ("fail", "fail_handled"):
        record("task_fail", rid, task=index)
        raise (HandledTaskFailure if action == "fail_handled" else TaskFailure)(f"{rid}.{index}")
    record("task_end", rid, task=index)


async def async_task(rid: str, index: str, action: str) -> None:
    record("task_start", rid, task=index, ctx=CTX.get())
    try:
        if action == "gate":
            await wait_gate_async(_gates(), f"{rid}.{index}")
        elif action == "block" and flipped("block_off_loop"):
            await asyncio.to_thread(wait_gate, _gates(), f"{rid}.{index}")
        elif action == "block" and flipped("exit_on_block"):
            arrive(_gates(), f"{rid}.{index}")
            os._exit(1)
        elif action == "block":
            wait_gate(_gates(), f"{rid}.{index}")  # deliberately blocking: the article's mistake
    except asyncio.CancelledError:
        record("task_cancelled", rid, task=index)
        raise
    if action in ("fail", "fail_handled"):
        record("task_fail", rid, task=index)
        raise (HandledTaskFailure if action == "fail_handled" else TaskFailure)(f"{rid}.{index}")
    record("task_end", rid, task=index)


# -- a task that reads the request's uploaded file ---------------------------------------------------

#: What the probe's clients upload (`/upload/{rid}`, multipart field `file`).
UPLOAD = b"afterward upload\n"


def _upload_result(data: bytes) -> str:
    return "read" if data == UPLOAD else f"read {len(data)} other bytes"


def _failed_read(error: Exception) -> str:
    return "closed file" if "closed file" in str(error) else f"{type(error).__name__}: {error}"


def _stream(upload: Any) -> Any:
    """The file object under a framework's upload (Starlette's and Litestar's `UploadFile.file`,
    Werkzeug's `FileStorage.stream`), or the bytes a wrong probe copied."""
    return getattr(upload, "file", None) or getattr(upload, "stream", None) or upload


def read_upload_sync(rid: str, upload: Any) -> None:
    record("task_start", rid, task="upload")
    try:
        result = _upload_result(_stream(upload).read())
    except Exception as error:  # the observation: what reading it after the response gives
        result = _failed_read(error)
    record("upload_read", rid, result=result)


async def read_upload_async(rid: str, upload: Any) -> None:
    record("task_start", rid, task="upload")
    read = getattr(upload, "read", None)
    try:
        if asyncio.iscoroutinefunction(read):  # Starlette's and Litestar's `UploadFile.read()`
            result = _upload_result(await upload.read())
        else:  # Werkzeug's `FileStorage` (Quart) has no async reader; copied bytes neither
            result = _upload_result(_stream(upload).read())
    except Exception as error:
        result = _failed_read(error)
    record("upload_read", rid, result=result)


def upload_reader(rid: str, query: Any, upload: Any) -> tuple[Any, ...]:
    """The task that reads `upload` after the response (`?kind=sync|async`), as the handler adds it:
    `add(*upload_reader(...))` (with the wrong probes' copy or early close); a variadic tuple, as
    `dependency_task`'s, for mypy's check of `add_task(func, *args)`."""
    import io

    if flipped("copy_upload"):
        upload = io.BytesIO(_stream(upload).read())
    reader = read_upload_sync if query.get("kind") == "sync" else read_upload_async
    if flipped("close_upload"):
        _stream(upload).close()
    return reader, rid, upload


Step = tuple[Callable[..., Any], str, str, str]


def steps(rid: str, plan: str) -> list[Step]:
    """`"async:gate,sync:mark"` -> [(task function, rid, index, action), ...]."""
    out = []
    for index, step in enumerate(filter(None, plan.split(","))):
        kind, _, action = step.partition(":")
        if kind not in ("sync", "async") or action not in ("mark", "gate", "block", "fail", "fail_handled"):
            raise ValueError(f"bad plan step {step!r}")
        out.append((sync_task if kind == "sync" else async_task, rid, str(index), action))
    return out


def dependency_task(rid: str) -> tuple[Any, ...]:
    # A `Step`, typed as a variadic tuple: mypy checks a star-unpacked fixed-length tuple against
    # a ParamSpec signature (`add_task(func, *args)`, `BackgroundTask(func, *args)`) as too many
    # arguments.
    return (async_task, rid, "dep", "mark")


# -- the wrong probes' ways of running a task ------------------------------------------------

_sent: dict[str, asyncio.Event] = {}
_pending: dict[str, int] = {}
_failed: set[str] = set()


async def _call(fn: Callable[..., Any], *args: Any) -> None:
    if asyncio.iscoroutinefunction(fn):
        await fn(*args)
    else:
        await asyncio.to_thread(fn, *args)


def wrong(fn: Callable[..., Any], rid: str) -> Callable[..., Any]:
    """`fn` as the turned knobs run it; `fn` itself when no knob touches it."""
    is_async = asyncio.iscoroutinefunction(fn)
    if is_async and flipped("async_in_thread"):
        fn = _in_thread(fn)
        is_async = False
    if not is_async and flipped("sync_on_loop"):
        fn, is_async = _on_loop(fn), True
    if is_async and flipped("fresh_context"):
        fn = _in_context(fn, lambda: contextvars.Context())
    if is_async and flipped("bind_context"):
        ctx = contextvars.copy_context()
        fn = _in_context(fn, lambda: ctx)
    if flipped("isolate"):
        fn = _isolated(fn, is_async)
    if flipped("handler_in_task"):
        fn = _to_handler(fn, is_async)
    if flipped("defer"):
        fn, is_async = _deferred(fn, rid), True
    if flipped("hold_final") or flipped("queue_behind_tasks") or flipped("propagate"):
        _pending[rid] = _pending.get(rid, 0) + 1
        fn, is_async = _counted(fn, rid), True
    return fn


def _in_thread(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def run(*args: Any) -> None:
        asyncio.run(fn(*args))

    return run


def _on_loop(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    async def run(*args: Any) -> None:
        fn(*args)

    return run


def _in_context(fn: Callable[..., Any], ctx: Callable[[], contextvars.Context]) -> Callable[..., Any]:
    @wraps(fn)
    async def run(*args: Any) -> None:
        await asyncio.get_running_loop().create_task(fn(*args), context=ctx())

    return run


def _isolated(fn: Callable[..., Any], is_async: bool) -> Callable[..., Any]:
    if is_async:

        @wraps(fn)
        async def run_async(*args: Any) -> None:
            try:
                await fn(*args)
            except TaskFailure:
                pass

        return run_async

    @wraps(fn)
    def run(*args: Any) -> None:
        try:
            fn(*args)
        except TaskFailure:
            pass

    return run


def _to_handler(fn: Callable[..., Any], is_async: bool) -> Callable[..., Any]:
    if is_async:

        @wraps(fn)
        async def run_async(*args: Any) -> None:
            try:
                await fn(*args)
            except HandledTaskFailure as error:
                handled_failure(error)
                raise

        return run_async

    @wraps(fn)
    def run(*args: Any) -> None:
        try:
            fn(*args)
        except HandledTaskFailure as error:
            handled_failure(error)
            raise

    return run


def _deferred(fn: Callable[..., Any], rid: str) -> Callable[..., Any]:
    @wraps(fn)
    async def run(*args: Any) -> None:
        await _sent.setdefault(rid, asyncio.Event()).wait()
        await _call(fn, *args)

    return run


def _counted(fn: Callable[..., Any], rid: str) -> Callable[..., Any]:
    @wraps(fn)
    async def run(*args: Any) -> None:
        try:
            await _call(fn, *args)
        except TaskFailure:
            _failed.add(rid)
            raise
        finally:
            _pending[rid] -= 1

    return run


async def _chain(tasks: list[Step]) -> None:
    for fn, *args in tasks:
        await _call(fn, *args)


def _register(rid: str, found: list[Step], add: Callable[..., Any]) -> None:
    if flipped("reverse"):
        found = found[::-1]
    if flipped("chain"):
        add(_chain, found)
        return
    for fn, *args in found:
        fn = wrong(fn, rid)
        if flipped("concurrent"):
            asyncio.get_running_loop().create_task(_call(fn, *args))
        else:
            add(fn, *args)


async def handle(rid: str, query: Any, add: Callable[..., Any]) -> None:
    """The handler's common steps around native registration with `add(fn, *args)`."""
    if query.get("ctx") == "before":
        CTX.set(rid)
    found = steps(rid, query.get("plan", ""))
    if flipped("inline"):
        for fn, *args in found:
            await _call(wrong(fn, rid), *args)
        found = []
    # `?add=after`: the tasks are added after the handler's first `await` (its gate), not before.
    after_await = query.get("add") == "after" and not flipped("early")
    if not (flipped("late") or after_await):
        _register(rid, found, add)
    if query.get("ctx") == "after":
        CTX.set(rid)
    if query.get("handler_gate"):
        try:
            await wait_gate_async(_gates(), f"{rid}.handler")
        except asyncio.CancelledError:
            record("handler_cancelled", rid)
            raise
        record("handler_resumed", rid)
        if flipped("drop_after_gate"):
            found = []
    if after_await and not flipped("late"):
        _register(rid, found, add)
    if query.get("fail"):
        raise HandlerFailure(rid)
    if flipped("late"):
        _register(rid, found, add)


def register_sync(rid: str, query: Any, add: Callable[..., Any]) -> None:
    """What a `def` endpoint does: set the context variable, then register."""
    CTX.set(rid)
    for fn, *args in steps(rid, query.get("plan", "")):
        add(wrong(fn, rid), *args)


def ping(rid: str) -> dict[str, str]:
    record("ping", rid)
    return {"rid": rid}


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
#: An ASGI app, as the four frameworks' own annotations (Starlette's `ASGIApp`) spell it.
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


def _shrink_pools() -> None:
    import concurrent.futures

    import anyio.to_thread

    anyio.to_thread.current_default_thread_limiter().total_tokens = 3
    asyncio.get_running_loop().set_default_executor(concurrent.futures.ThreadPoolExecutor(3))


def observe(app: ASGIApp) -> ASGIApp:
    """Records `response_complete` when the app hands over its last body chunk and `app_done`
    when its ASGI call returns (after any tasks it runs inline)."""
    started: list[bool] = []

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" and (flipped("hold_shutdown") or flipped("exit_at_shutdown")):
            return await app(scope, _at_shutdown(receive), send)
        if scope["type"] != "http":
            return await app(scope, receive, send)
        if not started:
            if flipped("small_pool"):
                _shrink_pools()
            if flipped("exit_on_term"):
                signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            if flipped("ignore_term"):
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            started.append(True)
        rid = scope["path"].rstrip("/").rpartition("/")[2]
        held: list[dict[str, Any]] = []

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start" and flipped("close_conn"):
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                record("response_complete", rid)
                if flipped("defer"):  # only the wrong probe that waits for it keeps one per request
                    _sent.setdefault(rid, asyncio.Event()).set()
                if flipped("hold_final"):
                    await send({**message, "more_body": True})
                    held.append({"type": "http.response.body", "body": b"", "more_body": False})
                    return
            await send(message)

        while flipped("queue_behind_tasks") and any(_pending.values()):
            await asyncio.sleep(0.01)  # a wrong probe's own wait for the tasks before this request
        try:
            if flipped("cancel_on_disconnect"):
                await _cancelled_on_disconnect(app, scope, receive, send_observed)
            else:
                await app(scope, receive, send_observed)
            while flipped("propagate") and _pending.get(rid):
                await asyncio.sleep(0.01)  # a wrong probe's own wait for its tasks, inside the app
            if flipped("propagate") and rid in _failed:
                raise TaskFailure(rid)
        except BaseException as error:
            record("app_done", rid, error=type(error).__name__)
            raise
        record("app_done", rid, error=None)
        while _pending.get(rid):
            await asyncio.sleep(0.01)  # a wrong probe's own wait for its tasks, inside the app
        for message in held:
            await send(message)

    return wrapped


def _at_shutdown(receive: Any) -> Any:
    """`receive` of a lifespan scope, with the wrong probe's way of meeting `lifespan.shutdown`."""

    async def received() -> Message:
        message: Message = await receive()
        if message["type"] == "lifespan.shutdown":
            if flipped("exit_at_shutdown"):
                os._exit(0)
            await asyncio.sleep(3.0)  # hold_shutdown: the wrong probe's own late exit
        return message

    return received


def cancel_after_response(app: ASGIApp) -> ASGIApp:
    """`app`, its call cancelled once it has sent its whole response (the tasks it runs after)."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        calls: list[asyncio.Future[None]] = []

        async def send_then_cancel(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                asyncio.get_running_loop().call_soon(calls[0].cancel)

        call = asyncio.ensure_future(app(scope, receive, send_then_cancel))
        calls.append(call)

        try:
            await call
        except asyncio.CancelledError:
            if not call.cancelled():
                raise

    return wrapped


async def _cancelled_on_disconnect(app: ASGIApp, scope: Scope, receive: Any, send: Any) -> None:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    call = asyncio.ensure_future(app(scope, inbox.get, send))

    async def watch() -> None:
        while True:
            message = await receive()
            await inbox.put(message)
            if message["type"] == "http.disconnect":
                call.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        await call
    finally:
        watcher.cancel()
