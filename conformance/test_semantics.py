"""The semantics tier: what each framework natively does after the response.

Each test measures one property on its pair's probe and hands the observation to
`check`, which compares it with `conformance/expected.toml`. Orderings come from the
probe's own event sequence; held tasks wait on gates. Where a property is about
something *not* happening, a later request or event that must come after it is the
barrier. Where only a wait can tell (does a request wait while a task is held?), the
task stays held for a window: `QUIET` when the declared answer is "it waits" (an answer
inside the window is the observation that differs), `PATIENCE` when it is "it does not
wait" (no answer by then is). The gate is released only after the window, never in a
race with the request. `python -m conformance.flips` runs every property against wrong
probes and checks that each is reported as a mismatch.
"""

from __future__ import annotations

import re
import signal
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import httpx

from conformance.fixtures import Live, Pair
from conformance.gates import GateServer
from conformance.h2conn import H2Connection
from conformance.recipes import recipes
from shared.axes import FRAMEWORKS, MANAGERS, RUNNABLE
from shared.servers import LiveServer

#: A correct probe answers in milliseconds; only a wrong one ever reaches this.
DEADLINE = 10.0
#: How long a held task must keep another answer from coming, for "it waits" to be observed.
QUIET = 1.0
#: How long an answer may take, for "it does not wait" to be observed.
PATIENCE = 5.0
pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="client")


def new_rid(prefix: str = "p") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def post(probe: Live, path: str, timeout: float = DEADLINE, **params: Any) -> httpx.Response:
    with probe.client(timeout=timeout) as client:
        return client.post(path, params=params)


def post_later(probe: Live, path: str, **params: Any) -> Future[httpx.Response]:
    """A request in the background whose answer a test waits for with its own window; the
    client's own time-out is longer than any window, so only the test decides what is late."""
    return pool.submit(post, probe, path, DEADLINE * 3, **params)


def wait_event(probe: Live, rid: str, event: str, timeout: float = DEADLINE, **match: Any) -> dict[str, Any]:
    return probe.wait_event(rid, event, timeout, **match)


def barrier(probe: Live) -> None:
    """A later request whose task has finished: whatever was going to start before it has."""
    rid = new_rid("barrier")
    assert post(probe, f"/tasks/{rid}", plan="async:mark").status_code == 200
    wait_event(probe, rid, "task_end")


def started(probe: Live, rid: str) -> list[str]:
    return [e["task"] for e in sorted(probe.events(rid, "task_start"), key=lambda e: e["seq"])]


class Raw:
    """One HTTP/1.1 keep-alive connection, byte by byte, so tests control when each request goes."""

    def __init__(self, probe: Live) -> None:
        self.sock = socket.create_connection(("127.0.0.1", probe.own().port), timeout=DEADLINE)
        self.buffer = b""

    def send(self, method: str, path: str) -> None:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        self.sock.sendall(head.encode())

    def read_response(self, timeout: float = DEADLINE) -> int | None:
        """The status of the next response, or None when the server closed the connection."""
        self.sock.settimeout(timeout)
        while b"\r\n\r\n" not in self.buffer:
            chunk = self._recv()
            if not chunk:
                return None
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            chunk = self._recv()
            if not chunk:
                return None
            self.buffer += chunk
        self.buffer = self.buffer[length:]
        return int(lines[0].split()[1])

    def _recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except ConnectionResetError:
            return b""

    def close(self) -> None:
        self.sock.close()


def answered_within(raw: Raw, window: float) -> bool:
    """Did the next response on `raw` arrive within `window` seconds?"""
    try:
        return raw.read_response(timeout=window) is not None
    except TimeoutError:
        return False


def other_request_waits(probe: Live, gates: GateServer, gate: str, expected: bool) -> bool:
    """While `gate` holds a task, does a new request on another connection wait for it?"""
    rid = new_rid("ping")
    raw = Raw(probe)
    try:
        raw.send("GET", f"/ping/{rid}")
        answered = answered_within(raw, QUIET if expected else PATIENCE)
        gates.release(gate)
        if not answered:  # it must come once the task is let go, and after the task's end
            assert raw.read_response() == 200, "no answer even after the task was released"
            assert (
                wait_event(probe, rid, "ping")["seq"]
                > wait_event(probe, gate.rpartition(".")[0], "task_end")["seq"]
            )
        return not answered
    finally:
        gates.release(gate)
        raw.close()


# -- when tasks run ----------------------------------------------------------------------


def test_task_starts_after_response(probe: Live, check: Any) -> None:
    """Does the task's first line run after the app handed over the last byte of the response?"""
    rid = new_rid()
    assert post(probe, f"/tasks/{rid}", plan="async:mark").status_code == 200
    start, done = wait_event(probe, rid, "task_start"), wait_event(probe, rid, "response_complete")
    check(start["seq"] > done["seq"])


def test_response_before_task_finishes(probe: Live, gates: GateServer, check: Any) -> None:
    """Does the client get the whole answer while the task is held?"""
    rid = new_rid()
    answer = post_later(probe, f"/tasks/{rid}", plan="async:gate")
    gates.wait_arrived(f"{rid}.0")
    try:
        observed = answer.result(PATIENCE).status_code == 200
    except TimeoutError:
        observed = False
    finally:
        gates.release(f"{rid}.0")
    assert answer.result(DEADLINE).status_code == 200
    check(observed)


def test_tasks_run_sequentially(probe: Live, gates: GateServer, check: Any) -> None:
    """With the first of two `async def` tasks held, has the second not started?"""
    check(_second_waits_for_first(probe, gates, "tasks"))


def _second_waits_for_first(probe: Live, gates: GateServer, route: str) -> bool:
    rid = new_rid()
    gates.release(f"{rid}.1")  # the second never blocks; only the first is held
    assert post(probe, f"/{route}/{rid}", plan="async:gate,async:gate").status_code == 200
    gates.wait_arrived(f"{rid}.0")
    # Concurrent tasks are all started in one turn of the loop, before the first can reach
    # the gate server; so by now the second has started if it is ever started concurrently.
    sequential = started(probe, rid) == ["0"]
    gates.release(f"{rid}.0")
    wait_event(probe, rid, "task_end", task="1")
    return sequential


def test_tasks_run_in_registration_order(probe: Live, check: Any) -> None:
    """Do three tasks start in the order they were added?"""
    rid = new_rid()
    assert post(probe, f"/tasks/{rid}", plan="async:mark,async:mark,async:mark").status_code == 200
    for n in "012":
        wait_event(probe, rid, "task_end", task=n)
    check(started(probe, rid) == ["0", "1", "2"])


def test_dependency_task_runs_first(probe: Live, check: Any) -> None:
    """Does the task added by the dependency (or hook) run before the handler's own?"""
    rid = new_rid()
    assert post(probe, f"/tasks/{rid}", plan="async:mark", dep="1").status_code == 200
    wait_event(probe, rid, "task_end", task="0")
    wait_event(probe, rid, "task_end", task="dep")
    check(started(probe, rid) == ["dep", "0"])


# -- where tasks run ---------------------------------------------------------------------


def _thread_of(probe: Live, kind: str) -> tuple[str, str]:
    """The serving loop's thread is the one that sent the request's response."""
    rid = new_rid()
    assert post(probe, f"/tasks/{rid}", plan=f"{kind}:mark").status_code == 200
    start, sent = wait_event(probe, rid, "task_start"), wait_event(probe, rid, "response_complete")
    same = (start["pid"], start["thread_id"]) == (sent["pid"], sent["thread_id"])
    return ("event loop" if same else "worker thread"), start["thread_name"]


def _pool(thread_name: str) -> str:
    if thread_name.startswith("AnyIO worker thread"):
        return "anyio"
    if thread_name.startswith(("asyncio_", "uvloop_")):  # asyncio's and uvloop's default executors
        return "loop default executor"
    return re.sub(r"_\d+$", "", thread_name)  # an executor of the app's own: its `thread_name_prefix`


def test_sync_task_thread(probe: Live, check: Any) -> None:
    """Which thread runs a `def` task?"""
    where, name = _thread_of(probe, "sync")
    check(where, pool=_pool(name), thread_name=name)


def test_sync_task_pool(probe: Live, check: Any) -> None:
    """Which pool's worker thread runs a `def` task (anyio's, or the loop's default executor)?"""
    where, name = _thread_of(probe, "sync")
    check(_pool(name), thread_name=name)


def test_async_task_thread(probe: Live, check: Any) -> None:
    """Which thread runs an `async def` task?"""
    where, name = _thread_of(probe, "async")
    check(where, thread_name=name)


def test_sync_task_pool_size(probe: Live, gates: GateServer, expected: int, check: Any) -> None:
    """How many blocking `def` tasks run at once?

    The one measurement of an absence by a quiet period: once the declared number hold
    threads, one more second is allowed for any further task to start.
    """
    prefix = new_rid("pool") + "-"
    rids = [f"{prefix}{n}" for n in range(expected + 4)]
    answers = [post_later(probe, f"/tasks/{rid}", plan="sync:gate") for rid in rids]
    assert all(a.result(DEADLINE * 3).status_code == 200 for a in answers)
    running = gates.wait_count(prefix, expected, timeout=PATIENCE)
    if running >= expected:
        running = gates.wait_count(prefix, expected + 1, timeout=1.0)
    for rid in rids:
        gates.release(f"{rid}.0")
    for rid in rids:
        wait_event(probe, rid, "task_end", timeout=DEADLINE * 3)
    check(running)


# -- blocking ----------------------------------------------------------------------------


def test_blocking_async_task_delays_other_requests(
    probe: Live, gates: GateServer, expected: bool, check: Any
) -> None:
    """While an `async def` task makes a blocking call, does another request wait?"""
    rid = new_rid()
    answer = post_later(probe, f"/tasks/{rid}", plan="async:block")
    gates.wait_arrived(f"{rid}.0")
    observed = other_request_waits(probe, gates, f"{rid}.0", expected)
    answer.result(DEADLINE)
    check(observed)


def test_blocking_async_task_delays_own_response(
    probe: Live, gates: GateServer, expected: bool, check: Any
) -> None:
    """Does an `async def` task's blocking call hold back the response of its own request?"""
    rid = new_rid()
    answer = post_later(probe, f"/tasks/{rid}", plan="async:block")
    gates.wait_arrived(f"{rid}.0")
    try:
        answer.result(QUIET if expected else PATIENCE)
        observed = False
    except TimeoutError:
        observed = True
    finally:
        gates.release(f"{rid}.0")
    assert answer.result(DEADLINE).status_code == 200
    check(observed)


def test_blocking_sync_task_delays_other_requests(
    probe: Live, gates: GateServer, expected: bool, check: Any
) -> None:
    """While a `def` task makes a blocking call, does another request wait?"""
    rid = new_rid()
    answer = post_later(probe, f"/tasks/{rid}", plan="sync:block")
    gates.wait_arrived(f"{rid}.0")
    observed = other_request_waits(probe, gates, f"{rid}.0", expected)
    assert answer.result(DEADLINE).status_code == 200
    check(observed)


# -- failures ----------------------------------------------------------------------------


def test_failed_task_skips_later_tasks(probe: Live, check: Any) -> None:
    """When a task raises, are the tasks after it skipped?"""
    rid = new_rid()
    assert post(probe, f"/tasks/{rid}", plan="async:fail,async:mark").status_code == 200
    wait_event(probe, rid, "task_fail")
    wait_event(probe, rid, "app_done")  # where tasks run in the ASGI call, none starts after it
    barrier(probe)
    check("1" not in started(probe, rid))


def test_failed_task_status_seen_by_client(probe: Live, check: Any) -> None:
    """What status does the client see when the request's task raises?"""
    rid = new_rid()
    status = post(probe, f"/tasks/{rid}", plan="async:fail").status_code
    wait_event(probe, rid, "task_fail")
    check(status)


def test_failed_task_closes_keepalive_connection(probe: Live, check: Any) -> None:
    """After a task raised, is the client's keep-alive connection closed?"""
    rid = new_rid()
    raw = Raw(probe)
    try:
        raw.send("POST", f"/tasks/{rid}?plan=async:fail")
        assert raw.read_response() == 200
        wait_event(probe, rid, "app_done")
        barrier(probe)
        try:
            raw.send("GET", "/health")
            closed = raw.read_response() is None
        except (BrokenPipeError, ConnectionResetError):
            closed = True
    finally:
        raw.close()
    check(closed)


def _failure_logged(probe: Live, action: str) -> tuple[str, dict[str, Any]]:
    """A task raises (`fail`, or `fail_handled`: the type the probe has an exception handler for).
    Every log record at ERROR or above that carries the failure, from any logger (the probe's record
    factory sees each one, `conformance/probes/tasks.py`): the loggers, in order (`app.logger` for
    the one named after the app's module, Quart's), or `not logged`; and the first record's
    exception, its level, and whether the server's output shows the task's request id (what an
    operator reads)."""
    rid = new_rid()
    assert post(probe, f"/tasks/{rid}", plan=f"async:{action}").status_code == 200
    failed = wait_event(probe, rid, "task_fail")
    wait_event(probe, rid, "app_done")
    later = new_rid("barrier")
    assert post(probe, f"/tasks/{later}", plan="async:mark").status_code == 200
    # A later task has ended: what the failure set off (records, a handler) has run. A record that
    # names no request is this failure's when it came between the two, in the same process.
    until = wait_event(probe, later, "task_end")
    records = sorted(
        (
            e
            for e in probe.events(None, "log_record")
            if e["request_id"] == rid
            or (
                e["request_id"] is None
                and e["pid"] == failed["pid"]
                and failed["seq"] < e["seq"] < until["seq"]
            )
        ),
        key=lambda e: e["seq"],
    )
    server = probe.own()
    output = server.log_path.read_text(errors="replace") if server.log_path else ""
    first = records[0] if records else {}
    message = first.get("exc_message", "none")
    own = probe.pair.app.partition(":")[0]  # a logger named after the app's module: the app's own
    loggers = ("app.logger" if r["logger"] == own else r["logger"] for r in records)
    return ", ".join(dict.fromkeys(loggers)) or "not logged", {
        "exc_type": first.get("exc_type", "none"),
        "exc_message": "the task's" if message == f"{rid}.0" else message,
        "level": first.get("level", "none"),
        "in_server_output": rid in output,
        "handler": "ran" if probe.events(rid, "exception_handler") else "not run",
    }


def test_failed_task_exception_logged_by(probe: Live, check: Any) -> None:
    """A task raises an exception no handler is registered for: which logger logs it (or none),
    with what exception, and does the server's output show it?"""
    loggers, seen = _failure_logged(probe, "fail")
    seen.pop("handler")
    check(loggers, **seen)


def test_failed_task_exception_handler_runs(probe: Live, check: Any) -> None:
    """A task raises an exception of a type the app registered an exception handler for (Starlette's
    and FastAPI's `exception_handlers`, Litestar's, Quart's `errorhandler`): does the handler run?
    Also: which logger logs what instead."""
    loggers, seen = _failure_logged(probe, "fail_handled")
    handler = seen.pop("handler")
    check(handler == "ran", logger=loggers, **seen)


def test_keepalive_next_request_waits_for_task(
    probe: Live, gates: GateServer, expected: bool, check: Any
) -> None:
    """On one keep-alive connection, does the next request wait for the previous one's task?"""
    rid, ping = new_rid(), new_rid("ping")
    raw = Raw(probe)
    try:
        raw.send("POST", f"/tasks/{rid}?plan=async:gate")
        assert raw.read_response() == 200
        gates.wait_arrived(f"{rid}.0")
        raw.send("GET", f"/ping/{ping}")
        answered = answered_within(raw, QUIET if expected else PATIENCE)
        gates.release(f"{rid}.0")
        if not answered:
            assert raw.read_response() == 200, "no answer even after the task was released"
    finally:
        gates.release(f"{rid}.0")
        raw.close()
    check(not answered)


def test_tasks_run_when_handler_errors(probe: Live, check: Any) -> None:
    """When the handler raises after adding a task, does the task run?"""
    rid = new_rid()
    status = post(probe, f"/tasks/{rid}", plan="async:mark", fail="1").status_code
    wait_event(probe, rid, "app_done")
    barrier(probe)
    check(bool(started(probe, rid)), status=status)


def _hung_up(probe: Live, gates: GateServer, add: str) -> tuple[bool, dict[str, Any]]:
    """The client hangs up while the handler is held at its gate, the task added `before` or
    `after` that first `await`: did the task start, and how did the app's call end?"""
    rid = new_rid()
    raw = Raw(probe)
    raw.send("POST", f"/tasks/{rid}?plan=async:mark&handler_gate=1&add={add}")
    gates.wait_arrived(f"{rid}.handler")
    raw.close()
    barrier(probe)  # the server has read the hang-up by the time a later request is served
    gates.release(f"{rid}.handler")
    done = wait_event(probe, rid, "app_done")
    barrier(probe)
    return bool(started(probe, rid)), done


def _handler_fate(probe: Live, rid: str) -> str:
    if probe.events(rid, "handler_resumed"):
        return "finished"
    return "cancelled" if probe.events(rid, "handler_cancelled") else "not resumed"


def test_client_disconnect_before_response_runs_task(probe: Live, gates: GateServer, check: Any) -> None:
    """When the client hangs up before the response, does the task still run?"""
    ran, done = _hung_up(probe, gates, "before")
    check(ran, app_error=done["error"] or "none")


def test_client_disconnect_task_added_after_await_runs(probe: Live, gates: GateServer, check: Any) -> None:
    """The client hangs up while the handler awaits, and the handler adds its task only after
    that `await` returns: does the task run (was the handler let go on, or cancelled first)?"""
    ran, done = _hung_up(probe, gates, "after")
    check(ran, handler=_handler_fate(probe, done["request_id"]), app_error=done["error"] or "none")


def test_streaming_response_task_starts_after_last_chunk(probe: Live, check: Any) -> None:
    """With a streaming response, does the task start after the last chunk left the app?"""
    rid = new_rid()
    response = post(probe, f"/stream/{rid}", plan="async:mark")
    assert response.status_code == 200 and response.text.count("chunk") == 3
    start, done = wait_event(probe, rid, "task_start"), wait_event(probe, rid, "response_complete")
    check(start["seq"] > done["seq"])


def _upload_read(probe: Live, kind: str) -> str:
    """A multipart upload whose handler adds a `kind` task that reads the uploaded file after the
    response: what the read gives (`read`, `closed file`, or the error)."""
    from conformance.probes.tasks import UPLOAD

    rid = new_rid()
    with probe.client(timeout=DEADLINE) as client:
        answer = client.post(f"/upload/{rid}", params={"kind": kind}, files={"file": ("a.txt", UPLOAD)})
    assert answer.status_code == 200, f"the upload was answered {answer.status_code}: {answer.text[:200]}"
    return str(wait_event(probe, rid, "upload_read")["result"])


def test_sync_task_reads_uploaded_file(probe: Live, check: Any) -> None:
    """A `def` task added with the request's uploaded file (multipart): can it read the file once
    the response is out?"""
    check(_upload_read(probe, "sync"))


def test_async_task_reads_uploaded_file(probe: Live, check: Any) -> None:
    """The same with an `async def` task (`await file.read()` where the framework has it)."""
    check(_upload_read(probe, "async"))


# -- context variables -------------------------------------------------------------------


def _ctx_seen(probe: Live, path: str, **params: Any) -> Any:
    rid = new_rid()
    response = post(probe, f"{path}/{rid}", plan="async:mark", **params)
    if response.status_code != 200:
        return f"endpoint fails ({response.status_code})"
    return wait_event(probe, rid, "task_start")["ctx"] == rid


def test_contextvar_set_before_adding_visible_in_task(probe: Live, check: Any) -> None:
    """Does a task see a ContextVar the handler set before adding it?"""
    check(_ctx_seen(probe, "/tasks", ctx="before"))


def test_contextvar_set_after_adding_visible_in_task(probe: Live, check: Any) -> None:
    """Does a task see a ContextVar the handler set after adding it?"""
    check(_ctx_seen(probe, "/tasks", ctx="after"))


def test_contextvar_from_sync_endpoint_visible_in_task(probe: Live, check: Any) -> None:
    """Does a task see a ContextVar set by a `def` endpoint (which runs in a thread)?"""
    check(_ctx_seen(probe, "/sync-endpoint"))


# -- shutdown ----------------------------------------------------------------------------


def _held_then_sigterm(probe: Live, gates: GateServer) -> tuple[str, float]:
    rid = new_rid()
    assert post(probe, f"/tasks/{rid}", plan="async:gate").status_code == 200
    gates.wait_arrived(f"{rid}.0")
    signalled = time.monotonic()  # one clock for every process on the machine
    probe.own().signal(signal.SIGTERM)
    return rid, signalled


#: The work a short task has left at SIGTERM: less than every bounded grace declared (hypercorn's
#: 3 s, Quart's 5 s), more than none (a server without a grace), and more than the second such a
#: server may take to exit under load, its loop running the lifespan shutdown meanwhile.
SHORT_TASK = 2.0


def test_sigterm_lets_short_task_finish(fresh_probe: Live, gates: GateServer, check: Any) -> None:
    """A task with `SHORT_TASK` seconds of work left at SIGTERM (held at its gate, let go that long
    after the signal, or once the process has exited if sooner): does it finish before the exit?
    Not a race: a server that gives running tasks no time has ended them by then."""
    rid, _ = _held_then_sigterm(fresh_probe, gates)
    code = fresh_probe.own().wait(SHORT_TASK)  # at the exit, or SHORT_TASK after the signal
    gates.release(f"{rid}.0")
    if code is None:
        code = fresh_probe.own().wait(DEADLINE)  # a released task lets a server exit in well under a second
    check(bool(fresh_probe.events(rid, "task_end")), exit_code=code)


#: Longer than any bounded grace period of a lone server declared (Quart's 5 s) or set by a wrong
#: probe (hypercorn's 5 s); a server still up then, with the task not cancelled, waits without bound.
GRACE_LIMIT = 7.0


def grace_limit(pair: Pair) -> float:
    """GRACE_LIMIT, or 2 s past a longer grace: the default of the pair's server (gunicorn's 30 s), or
    the one a recipe applied to the probe claims."""
    server = RUNNABLE.get(pair.server)
    limit = max(GRACE_LIMIT, (server.grace_default or 0.0) + 2.0 if server else 0.0)
    claim = recipes()[pair.recipe].claim(GRACE, pair.framework, pair.server) if pair.recipe else None
    if claim is not None and isinstance(claim["value"], int | float):  # a recipe's longer grace
        limit = max(limit, claim["value"] + 2.0)
    return limit


GRACE = "sigterm_default_grace_seconds"


def test_sigterm_default_grace_seconds(fresh_probe: Live, gates: GateServer, check: Any) -> None:
    """How long does a held task get after SIGTERM, under default settings?

    Measured to the task's cancellation (recorded by the task, whether or not the process
    has exited by the limit), or to the process's exit when nothing cancels it; reported in
    seconds as measured, compared with the declared value within the property's tolerance.
    """
    rid, signalled = _held_then_sigterm(fresh_probe, gates)
    code = fresh_probe.own().wait(grace_limit(fresh_probe.pair))
    exited = time.monotonic()
    cancelled = fresh_probe.events(rid, "task_cancelled")  # before the release: only the server's
    gates.release(f"{rid}.0")
    if cancelled:
        observed: Any = round(cancelled[0]["t"] - signalled, 1)
    elif code is None:
        observed = "unbounded"
    else:
        observed = round(exited - signalled, 1)
    check(
        observed,
        ended_by="cancel" if cancelled else "exit" if code is not None else "still running",
        exit_s=round(exited - signalled, 2),
    )


def _shutdown_sign(idle: Raw) -> None:
    """Wait until the server closes an idle keep-alive connection, its sign that shutdown began
    (or for DEADLINE, where a server keeps idle connections)."""
    try:
        idle.read_response(timeout=DEADLINE)  # returns at EOF
    except TimeoutError:
        pass


def test_sigterm_while_handler_runs(fresh_probe: Live, gates: GateServer, check: Any) -> None:
    """A request still in its handler at SIGTERM (a deploy with a request in flight), its handler
    released once the server shows it is shutting down: what answer does the client get? Also:
    was the handler awaited or cancelled, and did the task it added run?"""
    rid = new_rid()
    client, idle = Raw(fresh_probe), Raw(fresh_probe)
    try:
        idle.send("GET", "/health")
        assert idle.read_response() == 200
        client.send("POST", f"/tasks/{rid}?handler_gate=1&plan=async:mark")
        gates.wait_arrived(f"{rid}.handler")
        fresh_probe.own().signal(signal.SIGTERM)
        _shutdown_sign(idle)
        gates.release(f"{rid}.handler")
        try:
            answer: Any = client.read_response(timeout=DEADLINE)
        except TimeoutError:
            answer = None
    finally:
        client.close()
        idle.close()
    fresh_probe.own().wait(GRACE_LIMIT)  # what the app recorded before its exit is all there is
    resumed, cancelled = (
        fresh_probe.events(rid, "handler_resumed"),
        fresh_probe.events(rid, "handler_cancelled"),
    )
    handler = "finished" if resumed else "cancelled" if cancelled else "not resumed"
    check(
        "no answer" if answer is None else answer,
        handler=handler,
        task="ran" if fresh_probe.events(rid, "task_end") else "not run",
    )


def _exit_seconds(probe: Live, idle: Callable[[], Any]) -> Any:
    """Seconds from SIGTERM to the server's exit while the connection `idle()` opened stays open
    with nothing in flight; `unbounded` when it is still up at GRACE_LIMIT."""
    connection = idle()
    try:
        signalled = time.monotonic()
        probe.own().signal(signal.SIGTERM)
        code = probe.own().wait(GRACE_LIMIT)
        return "unbounded" if code is None else round(time.monotonic() - signalled, 1)
    finally:
        connection.close()


def test_sigterm_exit_seconds_with_idle_keepalive(fresh_probe: Live, check: Any) -> None:
    """How long does the server take to exit at SIGTERM while an idle HTTP/1.1 keep-alive
    connection is open (asyncio's `Server.wait_closed()` waits for open connections from 3.12)?"""

    def keepalive() -> Raw:
        raw = Raw(fresh_probe)
        raw.send("GET", "/health")
        assert raw.read_response() == 200
        return raw

    check(_exit_seconds(fresh_probe, keepalive))


def test_sigterm_exit_seconds_with_idle_h2_connection(fresh_probe: Live, check: Any) -> None:
    """The same with an idle HTTP/2 connection (h2c, one stream answered, none open)."""

    def connection() -> H2Connection:
        conn = h2(fresh_probe)
        sid = conn.request("GET", "/health")
        assert conn.wait(lambda: conn.streams[sid].ended, DEADLINE)
        return conn

    check(_exit_seconds(fresh_probe, connection))


#: How long after every grace of a pair has run out (the server's, then the framework's own) a
#: process still up is taken to wait for its thread.
THREAD_MARGIN = 2.0


def thread_limit(pair: Pair) -> float:
    """The server's default grace (none counts 0: an unbounded one waits anyway), then the
    framework's own (Quart's 5 s at lifespan shutdown), then THREAD_MARGIN."""
    server, framework = RUNNABLE.get(pair.server), FRAMEWORKS.get(pair.framework)
    grace = (server.grace_default or 0.0) if server else 0.0
    return grace + (framework.task_shutdown_timeout if framework else 0.0) + THREAD_MARGIN


def test_sigterm_waits_for_running_sync_task(fresh_probe: Live, gates: GateServer, check: Any) -> None:
    """A `def` task blocked in its worker thread at SIGTERM and never released by the test: is
    the process still there, waiting for the thread, once every grace has run out
    (`thread_limit`)? The loop's default executor (Litestar's and Quart's `def` tasks) is joined
    when `asyncio.run` closes the loop; anyio's worker threads (FastAPI's, Starlette's) are not.
    Also: whether the task then finished, once released."""
    rid = new_rid()
    assert post(fresh_probe, f"/tasks/{rid}", plan="sync:gate").status_code == 200
    gates.wait_arrived(f"{rid}.0")
    signalled = time.monotonic()
    fresh_probe.own().signal(signal.SIGTERM)
    limit = thread_limit(fresh_probe.pair)
    code = fresh_probe.own().wait(limit)
    exit_s = round(time.monotonic() - signalled, 1)
    gates.release(f"{rid}.0")
    if code is None:
        code = fresh_probe.own().wait(DEADLINE)
    check(
        code is None or exit_s >= limit,
        task="finished" if fresh_probe.events(rid, "task_end") else "lost",
        exit_code=code,
        exit_s=exit_s,
    )


# -- process managers ----------------------------------------------------------------------


def test_recycled_worker_lets_short_task_finish(recycling_probe: Live, gates: GateServer, check: Any) -> None:
    """A worker reaches its request limit (the manager's own setting, at 1 request: the manager
    made ready without a request) with an `async def` task that has `SHORT_TASK` seconds of work
    left: does the task finish before the worker ends? Also: did the worker end, and did the
    manager start another in its place?"""
    server = recycling_probe.own()
    before = set(server.workers())
    rid = new_rid()
    assert post(recycling_probe, f"/tasks/{rid}", plan="async:gate").status_code == 200
    gates.wait_arrived(f"{rid}.0")
    worker = wait_event(recycling_probe, rid, "task_start")["pid"]
    ended = server.gone(worker, SHORT_TASK)  # at the worker's end, or SHORT_TASK after the answer
    gates.release(f"{rid}.0")
    ended = ended or server.gone(worker, DEADLINE)
    replaced = _new_worker(server, before, DEADLINE)
    check(bool(recycling_probe.events(rid, "task_end")), worker_ended=ended, replaced=replaced)


def _new_worker(server: LiveServer, before: set[int], timeout: float) -> bool:
    """Does a worker not among `before` take connections within `timeout`?"""
    deadline = time.monotonic() + timeout
    while not set(server.workers()) - before:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)  # polling the workers with a deadline, not test synchronisation
    return True


#: How long a worker's loop stays blocked before the test calls it not killed: 5 s past the longest
#: default health check of a manager (`Server.health_timeout`: gunicorn's `--timeout`, 30 s).
BLOCKED_LIMIT = 5.0 + max(m.health_timeout or 0.0 for m in MANAGERS.values())


def test_blocked_worker_killed_after_seconds(fresh_probe: Live, gates: GateServer, check: Any) -> None:
    """An `async def` task blocks its worker's loop (a blocking call, held at its gate) and is not
    let go: does the manager kill that worker, and after how many seconds? Also: what became of
    the blocked task once let go, and whether another worker took its place."""
    server = fresh_probe.own()
    before = set(server.workers())
    rid = new_rid()
    answer = post_later(fresh_probe, f"/tasks/{rid}", plan="async:block")
    gates.wait_arrived(f"{rid}.0")
    worker = wait_event(fresh_probe, rid, "task_start")["pid"]
    blocked = time.monotonic()
    killed = server.gone(worker, BLOCKED_LIMIT)
    waited = round(time.monotonic() - blocked)
    gates.release(f"{rid}.0")
    wait([answer], DEADLINE)  # answered, or failed with its worker
    try:
        task = bool(wait_event(fresh_probe, rid, "task_end")) and "finished"
    except TimeoutError:
        task = "lost"
    check(
        waited if killed else "not killed",
        task=task,
        replaced=_new_worker(server, before - {worker}, DEADLINE) if killed else "-",
    )


# -- framework-specific ------------------------------------------------------------------


def test_returned_response_background_drops_injected_tasks(probe: Live, check: Any) -> None:
    """FastAPI: returning a Response with its own `background` - do injected tasks still run?"""
    rid = new_rid()
    assert post(probe, f"/returned-background/{rid}").status_code == 200
    wait_event(probe, rid, "task_end", task="returned")
    barrier(probe)
    check("injected" not in started(probe, rid))


def test_yield_dependency_cleanup_before_tasks(probe: Live, check: Any) -> None:
    """FastAPI: for each dependency scope, does the code after `yield` run before the tasks?"""
    rid = new_rid()
    assert post(probe, f"/yield-dep/{rid}").status_code == 200
    task = wait_event(probe, rid, "task_start")
    order = []
    for scope in ("function", "request"):
        cleanup = wait_event(probe, rid, "dep_cleanup", scope=scope)
        order.append(f"{scope}: {'before' if cleanup['seq'] < task['seq'] else 'after'}")
    check(", ".join(order))


def test_task_group_runs_tasks_concurrently(probe: Live, gates: GateServer, check: Any) -> None:
    """Litestar: with `run_in_task_group=True`, do tasks run at once?"""
    check(not _second_waits_for_first(probe, gates, "task-group"))


def test_task_group_failure_cancels_other_tasks(probe: Live, gates: GateServer, check: Any) -> None:
    """Litestar: with `run_in_task_group=True`, one task held at its gate, a second that raises and a
    third that only marks: is the held one cancelled when the second fails? Also: did the third
    run, and what the app's call ended with. Read once a later request's task has ended."""
    rid = new_rid()
    assert post(probe, f"/task-group/{rid}", plan="async:gate,async:fail,async:mark").status_code == 200
    wait_event(probe, rid, "task_fail", task="1")
    _held_or_cancelled(probe, gates, rid)
    barrier(probe)  # the loop has turned many times since the failure: a cancellation has landed
    cancelled = bool(probe.events(rid, "task_cancelled"))
    gates.release(f"{rid}.0")
    done = wait_event(probe, rid, "app_done")
    check(
        cancelled,
        later_task="ran" if any(e["task"] == "2" for e in probe.events(rid, "task_end")) else "not run",
        app_error=done["error"] or "none",
    )


def test_handler_background_vs_response_background(probe: Live, check: Any) -> None:
    """Litestar: background set on both the route handler and the Response - which runs?"""
    rid = new_rid()
    before = len(probe.events("handler-level", "task_end"))
    assert post(probe, f"/handler-background/{rid}").status_code == 200
    wait_event(probe, rid, "app_done")  # the ASGI call has run the response's tasks
    barrier(probe)
    ran = {
        "handler": len(probe.events("handler-level", "task_end")) > before,
        "response": bool(probe.events(rid, "task_end")),
    }
    check(
        {
            (True, True): "both",
            (False, True): "response only",
            (True, False): "handler only",
            (False, False): "none",
        }[ran["handler"], ran["response"]]
    )


# -- across releases: middleware and `yield` dependencies ---------------------------------


def _held_or_cancelled(probe: Live, gates: GateServer, rid: str) -> None:
    """Poll (with a deadline) until the held task reached its gate, or was cancelled before."""
    deadline = time.monotonic() + DEADLINE
    while not (gates.arrived(f"{rid}.0") or probe.events(rid, "task_cancelled")):
        assert time.monotonic() < deadline, f"the task of {rid} neither started nor was cancelled"
        time.sleep(0.01)


def _finished(probe: Live, rid: str) -> dict[str, Any]:
    """The event that ended the task: its end or its cancellation (one must come)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        found = probe.events(rid, "task_end") + probe.events(rid, "task_cancelled")
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"the task of {rid} neither ended nor was cancelled"
        time.sleep(0.01)


def test_middleware_response_before_task_finishes(probe: Live, gates: GateServer, check: Any) -> None:
    """Behind a pass-through middleware, does the app send the answer's final message before the task
    ends? The client keeps its connection open (a client that hangs up once it has the body it was
    told the length of cuts the answer short in some releases). Decided by the order of the
    events, whenever the held task is let go."""
    rid = new_rid()
    raw = Raw(probe)
    try:
        raw.send("POST", f"/mw/tasks/{rid}?plan=async:gate")
        _held_or_cancelled(probe, gates, rid)
        gates.release(f"{rid}.0")
        assert raw.read_response() == 200
        finished = _finished(probe, rid)
        wait_event(probe, rid, "app_done")
    finally:
        gates.release(f"{rid}.0")
        raw.close()
    complete = probe.events(rid, "response_complete")
    check(bool(complete) and complete[0]["seq"] < finished["seq"], task=finished["event"])


def test_middleware_task_cancelled(probe: Live, gates: GateServer, check: Any) -> None:
    """Behind a pass-through middleware, is a task still running after the answer cancelled?

    The client keeps its connection open. The task is released only once the answer is complete
    (or after the window, where the answer waits for the task); a cancellation comes first, in the
    turn of the loop after the answer."""
    rid = new_rid()
    raw = Raw(probe)
    try:
        raw.send("POST", f"/mw/tasks/{rid}?plan=async:gate")
        _held_or_cancelled(probe, gates, rid)
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline and not (
            probe.events(rid, "response_complete") or probe.events(rid, "task_cancelled")
        ):
            time.sleep(0.01)
        gates.release(f"{rid}.0")
        assert raw.read_response() == 200
        finished = _finished(probe, rid)
    finally:
        gates.release(f"{rid}.0")
        raw.close()
    check(finished["event"] == "task_cancelled")


def test_middleware_task_exception_reaches_server(probe: Live, check: Any) -> None:
    """Behind a pass-through middleware, does a task's exception leave the app (reach the server)?
    The client keeps its connection open until the app's call has ended."""
    rid = new_rid()
    raw = Raw(probe)
    try:
        raw.send("POST", f"/mw/tasks/{rid}?plan=async:fail")
        status = raw.read_response()
        wait_event(probe, rid, "task_fail")
        done = wait_event(probe, rid, "app_done")
    finally:
        raw.close()
    check(done["error"] is not None, status=status, error=done["error"])


def test_yield_dependency_exit_before_tasks(probe: Live, check: Any) -> None:
    """FastAPI: does the code after `yield` of a dependency declared without a scope run before the tasks?"""
    rid = new_rid()
    assert post(probe, f"/yield-exit/{rid}").status_code == 200
    task, cleanup = wait_event(probe, rid, "task_start", task="0"), wait_event(probe, rid, "dep_cleanup")
    check(cleanup["seq"] < task["seq"])


def test_yield_dependency_exit_task_runs(probe: Live, check: Any) -> None:
    """FastAPI: does a task added in a `yield` dependency's exit code run?"""
    rid = new_rid()
    assert post(probe, f"/yield-exit/{rid}").status_code == 200
    wait_event(probe, rid, "dep_cleanup")
    wait_event(probe, rid, "task_end", task="0")
    wait_event(probe, rid, "app_done")
    barrier(probe)
    check("exit" in started(probe, rid))


# -- over HTTP/2 -------------------------------------------------------------------------


def h2(probe: Live) -> H2Connection:
    """An HTTP/2 connection (h2c, prior knowledge) to the probe's server."""
    return H2Connection(probe.own().port, timeout=DEADLINE)


def h2_barrier(conn: H2Connection) -> None:
    """A later stream on the same connection, answered: the server has handled every frame
    and every event of the streams before it (or ended the connection)."""
    sid = conn.request("GET", "/health")
    conn.wait(lambda: conn.streams[sid].over, DEADLINE)


def test_h2_failed_task_closes(probe: Live, check: Any) -> None:
    """Over HTTP/2, after a task raised: does the server end the connection, reset the stream, or
    neither? Read once the app's call has ended and a later stream on the connection was answered."""
    rid = new_rid()
    conn = h2(probe)
    try:
        sid = conn.request("POST", f"/tasks/{rid}?plan=async:fail")
        conn.wait(lambda: conn.streams[sid].status is not None, DEADLINE)
        status = conn.streams[sid].status
        wait_event(probe, rid, "task_fail")
        wait_event(probe, rid, "app_done")
        barrier(probe)
        h2_barrier(conn)
        stream = conn.streams[sid]
        if conn.closed:
            observed = "connection"
        elif stream.reset is not None:
            observed = "stream reset"
        elif not stream.ended:
            observed = "stream left open"
        else:
            observed = "nothing"
    finally:
        conn.close()
    check(observed, status=status, goaway=conn.goaway, eof=conn.eof, reset=stream.reset)


def test_h2_next_stream_waits_for_task(probe: Live, gates: GateServer, expected: bool, check: Any) -> None:
    """Over HTTP/2, while the task of one stream is held, is a new stream on the same connection
    answered?"""
    rid, ping = new_rid(), new_rid("ping")
    conn = h2(probe)
    try:
        first = conn.request("POST", f"/tasks/{rid}?plan=async:gate")
        assert conn.wait(lambda: conn.streams[first].status == 200, DEADLINE)
        gates.wait_arrived(f"{rid}.0")
        second = conn.request("GET", f"/ping/{ping}")
        answered = conn.wait(lambda: conn.streams[second].ended, QUIET if expected else PATIENCE)
        gates.release(f"{rid}.0")
        if not answered:  # it must come once the task is let go
            assert conn.wait(lambda: conn.streams[second].ended, DEADLINE), "no answer after the release"
        assert conn.streams[second].status == 200
    finally:
        gates.release(f"{rid}.0")
        conn.close()
    check(not answered)


def test_h2_stream_reset_before_response_runs_task(probe: Live, gates: GateServer, check: Any) -> None:
    """Over HTTP/2, when the client resets the stream (RST_STREAM) while the handler runs, does the
    handler's task still run? The connection stays open."""
    ran, done = _reset(probe, gates, "before")
    check(ran, app_error=done["error"] or "none")


def test_h2_stream_reset_task_added_after_await_runs(probe: Live, gates: GateServer, check: Any) -> None:
    """Over HTTP/2, the client resets the stream while the handler awaits, and the handler adds its
    task only after that `await` returns: does the task run?"""
    ran, done = _reset(probe, gates, "after")
    check(ran, handler=_handler_fate(probe, done["request_id"]), app_error=done["error"] or "none")


def _reset(probe: Live, gates: GateServer, add: str) -> tuple[bool, dict[str, Any]]:
    """RST_STREAM while the handler is held at its gate, the task added `before` or `after` it."""
    rid = new_rid()
    conn = h2(probe)
    try:
        sid = conn.request("POST", f"/tasks/{rid}?plan=async:mark&handler_gate=1&add={add}")
        gates.wait_arrived(f"{rid}.handler")
        conn.reset(sid)
        h2_barrier(conn)  # the server has read the reset by the time a later stream is answered
        barrier(probe)  # and a later request on another connection, as over HTTP/1.1
        gates.release(f"{rid}.handler")
        done = wait_event(probe, rid, "app_done")
        barrier(probe)
    finally:
        gates.release(f"{rid}.handler")
        conn.close()
    return bool(started(probe, rid)), done
