"""A durable app, running: Redis, an engine's worker and the web app under a server, wired together.

The web app and the worker get the same `AFTERWARD_*` configuration plus the broker URL;
the worker writes the log and the events the contract tier reads. `durable_app()` names
each framework's durable twin.
"""

from __future__ import annotations

import importlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from durable.delivery import BROKER_ENV, ENGINE_ENV
from durable.redis_server import RedisServer
from durable.worker import Worker
from shared.axes import DEFAULT_ENGINE, Engine
from shared.recorder import EVENTS_ENV
from shared.servers import FRAMEWORKS, LiveServer

__all__ = ["DURABLE_APPS", "DurableServer", "Stack", "durable_app"]

#: Framework name -> import string of its durable app, beside the in-process one.
DURABLE_APPS = {name: record.durable_app for name, record in FRAMEWORKS.items()}


def durable_app(framework: str) -> str:
    return DURABLE_APPS[framework]


class DurableServer(LiveServer):
    """The web server, whose processes, for a durable app, include the workers': the suite
    checks that events come from the app's own processes, and here the worker sends."""

    def __init__(self, *args: Any, workers: Callable[[], list[Worker]] = list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workers = workers

    def web_pids(self) -> list[int]:
        return super().pids()

    def pids(self) -> list[int]:
        return self.web_pids() + [pid for worker in self.workers() for pid in worker.pids()]


@dataclass
class Stack:
    """Redis, `workers` workers of `engine` and a web server for `app` (`start_web` again for
    another), all in `workdir`."""

    app: str
    server: str
    smtp_port: int
    workdir: Path
    workers: int = 1
    concurrency: int = 4
    #: The module the workers load, when not the engine's own (a wrong variant's).
    tasks: str = ""
    engine: Engine = DEFAULT_ENGINE
    extra_env: dict[str, str] = field(default_factory=dict)
    redis: RedisServer | None = None
    web: LiveServer | None = None
    running: list[Worker] = field(default_factory=list)
    #: Every web server started, `web` the last.
    webs: list[LiveServer] = field(default_factory=list)

    @property
    def events_path(self) -> Path:
        return self.workdir / "events.jsonl"

    @property
    def log_path(self) -> Path:
        return Path(self.extra_env.get("AFTERWARD_LOG_PATH") or self.workdir / "notifications.log")

    @property
    def records_path(self) -> Path:
        return self.workdir / "records.log"

    def env(self) -> dict[str, str]:
        """The configuration of the web app and the workers; a variable `extra_env` sets to ""
        is left out (the code then uses its default)."""
        assert self.redis is not None
        env = {"AFTERWARD_SMTP_HOST": "127.0.0.1", "AFTERWARD_SMTP_PORT": str(self.smtp_port),
               EVENTS_ENV: str(self.events_path), "AFTERWARD_LOG_PATH": str(self.log_path),
               "AFTERWARD_RECORDS": str(self.records_path), BROKER_ENV: self.redis.url,
               ENGINE_ENV: self.engine.name, **self.extra_env}
        return {k: v for k, v in env.items() if v != ""}

    def unset(self) -> list[str]:
        return [k for k, v in self.extra_env.items() if v == ""]

    def start(self, web: bool = True) -> Stack:
        """Redis, the workers and (unless `web=False`) the web server."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.redis = RedisServer(self.workdir / "redis").start()
            for n in range(self.workers):
                self.start_worker(f"w{n + 1}")
            if web:
                self.start_web()
        except BaseException:
            self.stop()
            raise
        return self

    def start_worker(self, name: str = "w1", **env: str) -> Worker:
        """A worker with the stack's configuration (and `env` over it)."""
        worker = Worker({**self.env(), **env}, self.workdir / f"worker-{name}.log", self.concurrency,
                        name=name, app=self.tasks, unset=self.unset(), engine=self.engine).start()
        self.running.append(worker)
        return worker

    def start_web(self, app: str | None = None, server: str | None = None, workdir: Path | None = None,
                  **env: str) -> LiveServer:
        """The web app under its server (or another app or server, in a directory of its own)."""
        (workdir or self.workdir).mkdir(parents=True, exist_ok=True)
        log = (workdir or self.workdir) / "server.log"
        self.web = DurableServer(app or self.app, server or self.server, log_path=log,
                                 env={**self.env(), **env}, unset=self.unset(),
                                 workers=lambda: self.running).start()
        self.webs.append(self.web)
        return self.web

    def sigterm_worker(self, group: bool) -> Worker:
        """SIGTERM to the first worker's main process, or to its whole process group, as systemd
        does by default; returns once it has been taken: the main process has begun its warm
        shutdown, and no pool process still has it pending (each has ignored it, run its handler
        or exited). The worker is then the caller's to wait for (`replace_worker`)."""
        worker = self.running[0]
        assert worker.proc is not None
        pool = [pid for pid in worker.pids() if pid != worker.proc.pid]
        worker.signal(signal.SIGTERM, group=group)
        worker.wait_logged("Warm shutdown", timeout=30)
        worker.wait_settled(signal.SIGTERM, pool)
        return worker

    def replace_worker(self, worker: Worker, timeout: float = 60.0) -> Worker:
        """Once `worker` has exited (within `timeout` s, or it is killed and this fails), a new one."""
        code = worker.wait(timeout)
        worker.stop()
        self.running.remove(worker)
        if code is None:
            raise TimeoutError(f"the worker did not exit within {timeout:g} s of its stop:\n"
                               f"{worker.log_tail()}")
        return self.start_worker(f"{worker.name}-next")

    def wait_drained(self, timeout: float) -> None:
        """Until the broker holds no message: none queued, none delivered but unacknowledged (every
        message handed out has run), as the engine's module counts them (its `pending`)."""
        assert self.redis is not None
        pending = importlib.import_module(self.engine.module).pending
        client = redis.Redis.from_url(self.redis.url)
        deadline = time.monotonic() + timeout
        try:
            while held := pending(client):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the broker still holds {held} message(s), queued or unacknowledged, "
                                       f"after {timeout:g} s")
                time.sleep(0.1)  # polling for a state that must come
        finally:
            client.close()

    def kill_workers(self) -> None:
        for worker in self.running:
            worker.kill()
        self.running.clear()

    def terminate(self) -> None:
        """SIGTERM to every process of the stack at once, waiting for none: each shuts down on
        its own even if this process is killed next (as nox does, a moment after Ctrl-C)."""
        for proc in [*(w.proc for w in self.webs), *(w.proc for w in self.running),
                     self.redis.proc if self.redis else None]:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        for web in self.webs:
            web.stop()
        self.webs.clear()
        for worker in self.running:
            worker.stop()
        self.running.clear()
        if self.redis is not None:
            self.redis.stop()

    def __enter__(self) -> Stack:
        return self if self.redis is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
