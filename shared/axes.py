"""The axes as data: one record per framework, per server, per Python and per durable engine.

Every list, parametrization, table key, page column and pyproject extra derives from these
records; nothing else restates a server's facts. A new server is one `Server` record (and
the declared values where it differs); `tests/test_axes.py` builds a sixth one in a copy of
the tree and finds it in every tier, page and extra. uvicorn's `uvicorn/config.py`
(`HTTP_PROTOCOLS`, `LOOP_SETUPS`) and nox's `nox.project.python_versions` are the models.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "FRAMEWORKS",
    "MANAGERS",
    "PYTHONS",
    "RUNNABLE",
    "SERVERS",
    "Engine",
    "Framework",
    "Python",
    "Server",
]


@dataclass(frozen=True)
class Framework:
    name: str
    title: str
    #: The distribution whose releases the history axis moves (and the report records).
    package: str
    #: Seconds the framework itself gives its tasks at lifespan shutdown, after the server's own
    #: grace (Quart's `BACKGROUND_TASK_SHUTDOWN_TIMEOUT`); 0 where its tasks are the server's.
    task_shutdown_timeout: float = 0.0

    @property
    def app(self) -> str:
        """The reference app's import string (the spec: `frameworks.<name>_app:app`)."""
        return f"frameworks.{self.name}_app:app"

    @property
    def durable_app(self) -> str:
        return f"frameworks.{self.name}_durable_app:app"

    @property
    def probe(self) -> str:
        """The semantics tier's probe: the same framework, its tasks driven by gates."""
        return f"conformance.probes.{self.name}_probe:app"

    @property
    def bench_app(self) -> str:
        return f"bench.apps.{self.name}_app:app"


@dataclass(frozen=True)
class Server:
    """How one ASGI server is run, and the facts about it that tables and pages use.

    `command` is what follows `python -m`: `{app}` an import string, `{fd}` the listening
    socket, `{port}` a port for a server that binds it itself. The HTTP implementation and
    the loop are named so that installed extras cannot change what is measured.
    """

    name: str
    command: tuple[str, ...]
    http: str
    loop: str
    described: str
    #: pyproject's extra of the same name: requirement -> why its bounds are what they are.
    requires: Mapping[str, str]
    #: The distributions whose versions the report records for this server.
    packages: tuple[str, ...]
    #: How a logging configuration (a `dictConfig` JSON file, `{path}`) is given.
    log_config: tuple[str, ...]
    #: Arguments replaced to bind 127.0.0.1:{port} instead of taking `{fd}` (the bench).
    bind_by_port: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The access log: on in the suite's runs, off in the bench's.
    access_log: tuple[str, ...] = ()
    no_access_log: tuple[str, ...] = ()
    #: The setting that bounds how long running requests, tasks included, go on after SIGTERM
    #: (None: the server has none), and the setting the `configured` shutdown runs raise.
    grace_option: str | None = None
    stop_option: str = ""
    #: How long that grace is by default, in seconds; None: no bound (the server waits for them).
    grace_default: float | None = None
    #: The protocols it serves on a cleartext connection; a property of another protocol is
    #: `n/a` here, for the reason and source below.
    protocols: tuple[str, ...] = ("http/1.1",)
    no_h2c: str = ""
    no_h2c_source: str = ""
    #: A process manager's record: the server of `SERVERS` its workers run. Its cells are that
    #: server's, except where a table names the manager itself (`conformance/address.py`).
    base: str = ""
    #: How many worker processes it runs (a manager's), for the pages.
    workers: int = 1
    #: The arguments that recycle a worker once it has served one request (its request limit);
    #: () where it has no such setting, and then why, with a source.
    recycle_after_one: tuple[str, ...] = ()
    no_recycle: str = ""
    no_recycle_source: str = ""
    #: What SIGHUP makes a manager do (each replaces its workers), and the source that says so.
    reload: str = ""
    reload_source: str = ""
    #: Why a worker it stops at a restart ends the `async def` tasks it is running (its server gives
    #: running tasks no grace); "" where it lets them finish.
    reload_ends_tasks: str = ""
    #: How long a worker's loop may stay blocked before the manager kills it, by default, in
    #: seconds (its health check); None: it never kills a worker for that.
    health_timeout: float | None = None

    @property
    def manager(self) -> bool:
        return bool(self.base)

    @property
    def binds_itself(self) -> bool:
        """Does it bind its port itself (no socket passed)?"""
        return not any("{fd}" in a for a in self.command)

    def speaks(self, protocol: str) -> bool:
        return protocol in self.protocols


@dataclass(frozen=True, order=True)
class Python:
    version: str  # "3.12"

    def find(self) -> Path | None:
        """This interpreter on the machine: on PATH, among pyenv's builds, or as uv finds it. Each
        candidate must run and be this version (a pyenv shim on PATH for a version not selected
        fails to run)."""
        for candidate in self._candidates():
            if self._is_me(candidate):
                return candidate
        return None

    def _candidates(self) -> Iterator[Path]:
        on_path = shutil.which(f"python{self.version}")
        if on_path:
            yield Path(on_path)
        root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
        yield from sorted(root.glob(f"{self.version}.*/bin/python{self.version}"), key=_release, reverse=True)
        uv = os.environ.get("AFTERWARD_UV") or shutil.which("uv")
        if uv:
            found = subprocess.run(
                [*uv.split(), "python", "find", self.version], capture_output=True, text=True
            )
            if found.returncode == 0 and found.stdout.strip():
                yield Path(found.stdout.strip())

    def _is_me(self, interpreter: Path) -> bool:
        try:
            done = subprocess.run(
                [str(interpreter), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0 and done.stdout.strip() == self.version

    @property
    def missing(self) -> str:
        """The one line a run prints when this interpreter is not here."""
        return (
            f"Python {self.version}: not found (not python{self.version} on PATH, not under pyenv's "
            f"versions/, not found by uv): skipped"
        )


@dataclass(frozen=True)
class Engine:
    """One durable queue on Redis: the module holding its task and its enqueue idiom
    (`async def enqueue`), and how its worker is run.

    `worker` is what follows `python -m`: `{tasks}` the module the worker loads (`module`, or
    `worker_module` where the worker needs more, or a wrong variant), `{concurrency}` the
    notifications it runs at once, `{name}` the worker's name. The durable apps pick the engine
    at import from `AFTERWARD_ENGINE` (durable/queue.py).
    """

    name: str
    title: str
    #: The distribution whose release is measured (and the report records).
    package: str
    #: The pyproject dependency group the engine's environment installs (an environment per
    #: engine: arq needs a redis-py that Celery's kombu and taskiq-redis exclude).
    group: str
    #: The module of its task and its `enqueue`.
    module: str
    worker: tuple[str, ...]
    #: A line of the worker's log once it takes messages.
    ready: str
    #: The engine's documentation of its worker and its enqueueing.
    docs: str
    worker_module: str = ""

    def worker_command(self, concurrency: int, name: str, tasks: str = "") -> list[str]:
        fields = {
            "tasks": tasks or self.worker_module or self.module,
            "concurrency": concurrency,
            "name": name,
        }
        return [part.format(**fields) for part in self.worker]


def _release(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parts[-3]))


_UVICORN_NO_H2C = (
    "uvicorn's HTTP implementations here (h11, httptools) speak HTTP/1.1 only",
    "https://github.com/Kludex/uvicorn/blob/0.54.0/uvicorn/config.py#L442-L448",
)


def _uvicorn(
    name: str, http: str, loop: str, described: str, requires: Mapping[str, str], packages: tuple[str, ...]
) -> Server:
    return Server(
        name,
        ("uvicorn", "{app}", "--fd", "{fd}", "--http", http, "--loop", loop, "--lifespan", "on"),
        http,
        loop,
        described,
        requires,
        packages,
        ("--log-config", "{path}"),
        # uvicorn takes a socket passed by `--fd` for a Unix socket, so asyncio leaves Nagle's
        # algorithm on and a keep-alive answer can wait ~40 ms for a delayed ACK
        # (Kludex/uvicorn#3149): the bench binds by port.
        {"--fd": ("--host", "127.0.0.1", "--port"), "{fd}": ("{port}",)},
        no_access_log=("--no-access-log",),
        grace_option="--timeout-graceful-shutdown",
        stop_option="--timeout-graceful-shutdown",
        grace_default=None,
        no_h2c=_UVICORN_NO_H2C[0],
        no_h2c_source=_UVICORN_NO_H2C[1],
    )


_SERVERS = (
    _uvicorn(
        "uvicorn",
        "h11",
        "asyncio",
        "uvicorn with h11 on asyncio: uvicorn without extras",
        {"uvicorn>=0.30,<1": ""},
        ("uvicorn", "h11"),
    ),
    _uvicorn(
        "uvicorn-std",
        "httptools",
        "uvloop",
        "uvicorn with httptools on uvloop: what `uvicorn[standard]`, `fastapi run` and `litestar run` pick",
        {
            "uvicorn>=0.30,<1": "",
            "uvloop>=0.23,<1": "0.23 names its default executor's threads (MagicStack/uvloop#636), which "
            "sync_task_thread reads; on 0.17 they are `ThreadPoolExecutor-0_0`, and an `async def` task's "
            "blocking call held back its own response.",
            "httptools>=0.5,<1": "0.5 is the first release with wheels for CPython 3.11; both tiers pass "
            "on it.",
        },
        ("uvicorn", "httptools", "uvloop"),
    ),
    Server(
        "hypercorn",
        ("hypercorn", "{app}", "--bind", "fd://{fd}", "--worker-class", "asyncio"),
        "h11 (its own HTTP/1.1) and h2 (HTTP/2)",
        "asyncio",
        "hypercorn with its own HTTP/1.1 (h11) and HTTP/2 (h2) on asyncio",
        {"hypercorn>=0.17,<1": ""},
        ("hypercorn", "h11", "h2"),
        ("--log-config", "json:{path}"),
        {"fd://{fd}": ("127.0.0.1:{port}",)},
        access_log=("--access-logfile", "-"),
        grace_option="--graceful-timeout",
        stop_option="--graceful-timeout",
        grace_default=3.0,
        protocols=("http/1.1", "h2c"),
    ),
    Server(
        "granian",
        (
            "granian",
            "{app}",
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--loop",
            "asyncio",
            "--workers",
            "1",
        ),
        "its own (Rust, hyper), ASGI interface",
        "asyncio",  # its `--loop auto` would pick uvloop whenever it is installed
        "granian, HTTP in Rust (hyper), its ASGI interface on asyncio",
        {
            "granian>=2.8,<3": "2.8 is the series measured, and `nox -s lowest` passes on 2.8.0. 2.0.0 fails "
            "every request: its asyncio tasks break `asyncio.all_tasks()` (emmett-framework/granian#513, "
            "fixed in 2.0.1); 2.0.1 to 2.7 were not tried.",
        },
        ("granian",),
        ("--log-config", "{path}"),
        # No grace: its one shutdown setting bounds how long the parent waits for a worker to exit.
        stop_option="--workers-kill-timeout",
        grace_default=0.0,
        protocols=("http/1.1", "h2c"),
    ),
)


def _managed(base: Server, name: str, described: str, **changes: Any) -> Server:
    """A process manager over `base`: its command with 2 workers, unless `changes` give another."""
    command: tuple[str, ...] = tuple(changes.pop("command", None) or (*base.command, "--workers", "2"))
    requires: Mapping[str, str] = changes.pop("requires", {})
    return replace(
        base,
        name=name,
        command=command,
        described=described,
        requires=requires,
        base=base.name,
        workers=2,
        **changes,
    )


_BY_NAME = {s.name: s for s in _SERVERS}
_GRANIAN_ONE = _BY_NAME["granian"].command

#: The process managers: each runs two workers of a server of the axis, and receives the signals.
_MANAGERS = (
    _managed(
        _BY_NAME["uvicorn-std"],
        "uvicorn-workers",
        "`uvicorn --workers 2` with httptools on uvloop: uvicorn's own supervisor, which is also what "
        "`fastapi run --workers 2` starts",
        recycle_after_one=("--limit-max-requests", "1"),
        reload="one worker at a time: a new one, ready, then the old one's graceful stop",
        reload_source="https://github.com/Kludex/uvicorn/blob/0.55.0/uvicorn/supervisors/multiprocess.py#L173-L194",
    ),
    _managed(
        _BY_NAME["uvicorn-std"],
        "gunicorn",
        "gunicorn's arbiter with 2 `uvicorn_worker.UvicornWorker` workers (httptools on uvloop, as the "
        "worker's `auto` picks them here)",
        command=(
            "gunicorn",
            "{app}",
            "--bind",
            "fd://{fd}",
            "--worker-class",
            "uvicorn_worker.UvicornWorker",
            "--workers",
            "2",
            "--no-control-socket",
        ),
        requires={
            "gunicorn>=27,<28": "27 is the series measured; it writes a control socket under the home "
            "directory unless `--no-control-socket`, an option of 27's, which the suite passes.",
            "uvicorn-worker>=0.4,<1": "uvicorn's gunicorn worker class, moved out of uvicorn in 0.30; 0.4 is "
            "the release measured.",
        },
        packages=("gunicorn", "uvicorn-worker", "uvicorn", "httptools", "uvloop"),
        log_config=("--log-config-json", "{path}"),
        access_log=("--access-logfile", "-"),
        no_access_log=(),
        grace_option="--graceful-timeout",
        stop_option="--graceful-timeout",
        grace_default=30.0,
        health_timeout=30.0,  # --timeout: the worker's heartbeat is 15 s apart
        recycle_after_one=("--max-requests", "1"),
        reload="every new worker forked at once, then every old one sent SIGTERM",
        reload_source="https://github.com/benoitc/gunicorn/blob/27.0.1/gunicorn/arbiter.py#L530-L601",
    ),
    _managed(
        _BY_NAME["hypercorn"],
        "hypercorn-workers",
        "`hypercorn --workers 2`: hypercorn's own supervisor",
        # hypercorn ends a worker once it has served more than `--max-requests`.
        recycle_after_one=("--max-requests", "0"),
        reload="every worker stopped (gracefully), then every one started again; the socket, the "
        "supervisor's, queues connections meanwhile",
        reload_source="https://github.com/pgjones/hypercorn/blob/0.18.0/src/hypercorn/run.py#L58-L62",
    ),
    _managed(
        _BY_NAME["granian"],
        "granian-workers",
        "`granian --workers 2`: granian's own supervisor",
        command=(*_GRANIAN_ONE[: _GRANIAN_ONE.index("--workers")], "--workers", "2"),
        no_recycle="granian recycles a worker by its age (`--workers-lifetime`, 60 s at least) or its "
        "memory (`--workers-max-rss`), never by a count of requests",
        no_recycle_source="https://github.com/emmett-framework/granian/blob/v2.8.9/granian/cli.py#L303-L330",
        reload="one worker at a time: a new one, 3.5 s, then the old one's graceful stop; each worker "
        "listens on a socket of its own (SO_REUSEPORT)",
        reload_ends_tasks="the old worker gets SIGTERM, at which its loop stops waiting and it exits "
        "(sigterm_default_grace_seconds: 0): its `async def` tasks end with it, its threads' `def` tasks "
        "finish",
        reload_source="https://github.com/emmett-framework/granian/blob/v2.8.9/granian/server/common.py"
        "#L527-L537",
    ),
)

_FRAMEWORKS = (
    Framework("fastapi", "FastAPI", "fastapi"),
    Framework("starlette", "Starlette", "starlette"),
    Framework("litestar", "Litestar", "litestar"),
    Framework("quart", "Quart", "quart", task_shutdown_timeout=5.0),
)

_ENGINES = (
    Engine(
        "celery",
        "Celery",
        "celery",
        "durable",
        "durable.tasks",
        (
            "celery",
            "-A",
            "{tasks}",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "{concurrency}",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            "{name}@%h",
        ),
        " ready.",
        "https://docs.celeryq.dev/en/stable/userguide/calling.html",
        worker_module="durable.records",
    ),
    Engine(
        "arq",
        "arq",
        "arq",
        "durable-arq",
        "durable.arq_tasks",
        ("arq", "{tasks}.WorkerSettings"),
        "Starting worker for",
        "https://arq-docs.helpmanual.io/",
    ),
    Engine(
        "dramatiq",
        "Dramatiq",
        "dramatiq",
        "durable-dramatiq",
        "durable.dramatiq_tasks",
        ("dramatiq", "{tasks}", "--processes", "1", "--threads", "{concurrency}"),
        "Worker process is ready for action.",
        "https://dramatiq.io/guide.html",
    ),
    Engine(
        "taskiq",
        "taskiq",
        "taskiq",
        "durable-taskiq",
        "durable.taskiq_tasks",
        (
            "taskiq",
            "worker",
            "{tasks}:broker",
            "--workers",
            "1",
            "--max-async-tasks",
            "{concurrency}",
            "--ack-type",
            "when_executed",
        ),
        "Listening started.",
        "https://taskiq-python.github.io/guide/getting-started.html",
    ),
)

#: The Pythons the suite is run on; the first is what `nox` and CI run by default.
_PYTHONS = (Python("3.11"), Python("3.12"), Python("3.13"))

SERVERS: Mapping[str, Server] = MappingProxyType({s.name: s for s in _SERVERS})
#: The process managers (`nox -s managers`), not in the default runs.
MANAGERS: Mapping[str, Server] = MappingProxyType({m.name: m for m in _MANAGERS})
#: Every name a server process can be started under: the servers, then the managers.
RUNNABLE: Mapping[str, Server] = MappingProxyType({**SERVERS, **MANAGERS})
FRAMEWORKS: Mapping[str, Framework] = MappingProxyType({f.name: f for f in _FRAMEWORKS})
PYTHONS: Mapping[str, Python] = MappingProxyType({p.version: p for p in _PYTHONS})
#: The durable engines (durable/): Celery first, the one `nox -s durable_quick` and the demo run.
ENGINES: Mapping[str, Engine] = MappingProxyType({e.name: e for e in _ENGINES})
#: The engine the durable apps and the harness use when none is named: the first record.
DEFAULT_ENGINE: Engine = _ENGINES[0]
