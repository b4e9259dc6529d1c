"""One fixture for "a live server of framework X under server Y", and what it needs.

Every test that takes `pair` runs once per framework x server pair (ids like
`[quart-hypercorn]`); `live` is that pair's reference app (or the app given with
`--app`), `probe` its semantics probe. Each server process starts once per pair and
worker, writes its events and log to files the test names, and is killed by PID.

With `--flips`, every semantics test runs instead on its pair's wrong probe
(`conformance/flips.toml`): a pair then carries the flip, and its probe starts with it.
With `--recipe NAME`, every semantics test runs on the recipe's pairs with the recipe
(`conformance/recipes.toml`) applied to the probe, and expects the cells it claims.

With `--url`, the contract tier runs against an app that is already running, started by
the user: `live` is that app, the sink listens on a fixed port the user configured, and
the tests that must start, restart or signal a server of their own are not applicable.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.flips import Flip, flip_for
from conformance.gates import GATES_ENV, GateServer
from conformance.probes.tasks import FLIP_ENV
from conformance.recipes import RECIPE_ENV, recipes
from shared.recorder import EVENTS_ENV, read_events
from shared.servers import FRAMEWORKS, RUNNABLE, SERVERS, LiveServer, client_tls
from shared.sink import SmtpSink

__all__ = ["Live", "Pair", "fresh_address", "not_applicable"]

#: The sink's port when the app runs elsewhere (`--url`): the spec's default SMTP port.
URL_MODE_SMTP_PORT = 8025
#: The `pair` of an app given with `--url`.
EXTERNAL = "external"
#: How a test says it cannot run in this mode: the plugin reports it as `n/a` with the reason.
NOT_APPLICABLE = "not applicable: "


def not_applicable(reason: str) -> None:
    pytest.skip(NOT_APPLICABLE + reason)


def params_of(item: pytest.Item) -> dict[str, Any]:
    """A test's parameters, `{}` when it has none (only a parametrized `pytest.Function` has a
    `callspec`)."""
    callspec = getattr(item, "callspec", None)
    return callspec.params if callspec is not None else {}


@dataclass(frozen=True)
class Pair:
    framework: str
    server: str
    app: str
    flip: Flip | None = None
    recipe: str = ""

    def __str__(self) -> str:
        return (
            f"{self.framework}-{self.server}"
            + (f"~{self.flip.tag()}" if self.flip else "")
            + (f"+{self.recipe}" if self.recipe else "")
        )


@dataclass
class Live:
    """A running server plus the files it reports into. With `--url`, `server` is None and the
    files are those the user named (None when not named)."""

    pair: Pair
    server: LiveServer | None
    events_path: Path | None
    log_path: Path | None
    #: What the app logged on `afterward.mailer`, one `LEVEL name message` line per record.
    records_path: Path | None = None
    external_url: str = ""
    #: The `TMPDIR` the server was started with, where the suite set one (`defaults`).
    temp_dir: Path | None = None

    @property
    def url(self) -> str:
        return self.server.url if self.server is not None else self.external_url

    def own(self) -> LiveServer:
        """The server process, for tests that stop or signal it: not applicable with `--url`."""
        if self.server is None:
            not_applicable("the app runs elsewhere (--url): the suite cannot stop or signal it")
        assert self.server is not None
        return self.server

    def need_events(self) -> Path:
        if self.events_path is None:
            not_applicable("no events file (--events PATH: the app's AFTERWARD_EVENTS)")
        assert self.events_path is not None
        return self.events_path

    def need_log(self) -> Path:
        if self.log_path is None:
            not_applicable("no log file (--log PATH: the app's AFTERWARD_LOG_PATH)")
        assert self.log_path is not None
        return self.log_path

    def records(self) -> list[str]:
        """The app's records on the `afterward.mailer` logger."""
        if self.records_path is None:
            not_applicable("the app's logging is its own (--url): its records cannot be read")
        assert self.records_path is not None
        return self.records_path.read_text().splitlines() if self.records_path.exists() else []

    def client(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("verify", client_tls())
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 15.0), **kwargs)

    def events(self, request_id: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in read_events(self.need_events())
            if (request_id is None or e["request_id"] == request_id)
            and (event is None or e["event"] == event)
        ]

    def wait_event(self, request_id: str, event: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """Poll the event file (with a deadline) for an event that must come."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events(request_id, event):
                if all(e.get(k) == v for k, v in match.items()):
                    return e
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no {event} {match} for {request_id} within {timeout:g} s\n"
                    f"{self.server.log_tail() if self.server else ''}"
                )
            time.sleep(0.01)

    def rss_kib(self) -> int:
        return self.own().rss_kib()

    def log_lines(self) -> list[str]:
        path = self.need_log()
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def fresh_address() -> str:
    return f"r{uuid.uuid4().hex[:12]}@example.com"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("afterward")
    group.addoption(
        "--app",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="run the contract tier against this ASGI app instead of the four frameworks",
    )
    group.addoption(
        "--server",
        action="append",
        default=[],
        choices=sorted(RUNNABLE),
        help="only these servers (default: every server; a process manager only when named)",
    )
    group.addoption(
        "--framework",
        action="append",
        default=[],
        choices=sorted(FRAMEWORKS),
        help="only these frameworks (default: all)",
    )
    group.addoption(
        "--url", metavar="URL", help="run the contract tier against the app already running at this URL"
    )
    group.addoption("--log", metavar="PATH", help="with --url: the app's AFTERWARD_LOG_PATH")
    group.addoption("--events", metavar="PATH", help="with --url: the app's AFTERWARD_EVENTS")
    group.addoption(
        "--smtp-port",
        type=int,
        default=None,
        metavar="PORT",
        help=f"the SMTP sink's port (default: any free one; with --url {URL_MODE_SMTP_PORT})",
    )
    group.addoption(
        "--clause",
        action="append",
        default=[],
        metavar="N",
        help="only the contract tests of this clause of shared/SPEC.md (repeatable)",
    )
    group.addoption(
        "--long",
        action="store_true",
        help="also the contract checks that wait out a default of clause 9 (the 30-s SMTP time-out)",
    )
    group.addoption(
        "--flips",
        action="store_true",
        help="run each semantics test on its wrong probe (conformance/flips.toml) instead",
    )
    group.addoption(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="with --flips: run the flips marked `timing` N times",
    )
    group.addoption(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for every server command line "
        "(`--server-arg=--graceful-timeout=5`); the suite's own tests use it to run a probe "
        "under a setting that flips a property",
    )
    group.addoption(
        "--recipe",
        choices=sorted(recipes()),
        metavar="NAME",
        help="run each semantics test with this recipe (conformance/recipes.toml) applied to the "
        "probe, on the recipe's pairs, expecting the cells it claims",
    )


def _pairs(config: pytest.Config, probes: bool) -> list[Pair]:
    if config.getoption("--url"):
        return [] if probes else [Pair("app", EXTERNAL, config.getoption("--url"))]
    servers = config.getoption("--server") or list(SERVERS)
    if config.getoption("--app") and not probes:
        apps = {a.partition(":")[0].rpartition(".")[2]: a for a in config.getoption("--app")}
    else:
        names = config.getoption("--framework") or list(FRAMEWORKS)
        apps = {n: FRAMEWORKS[n].probe if probes else FRAMEWORKS[n].app for n in names}
    return [Pair(name, server, app) for name, app in apps.items() for server in servers]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pair" not in metafunc.fixturenames:
        return
    probes = bool({"probe", "fresh_probe", "recycling_probe"} & set(metafunc.fixturenames))
    pairs = _pairs(metafunc.config, probes)
    repeat = 1
    if probes:  # measure only the cells the declared table says apply
        from conformance.declared import cell

        prop = metafunc.function.__name__.removeprefix("test_")
        pairs = [p for p in pairs if (c := cell(prop, p.framework, p.server)) is not None and c.measured]
        recipe = metafunc.config.getoption("--recipe")
        if recipe:
            pairs = [
                Pair(p.framework, p.server, p.app, recipe=recipe)
                for p in pairs
                if (p.framework, p.server) in recipes()[recipe].pairs()
            ]
        if metafunc.config.getoption("--flips"):
            flips = {p: flip_for(prop, p.framework, p.server) for p in pairs}
            pairs = [Pair(p.framework, p.server, p.app, f) for p, f in flips.items() if f is not None]
            if any(p.flip and p.flip.timing for p in pairs):
                repeat = metafunc.config.getoption("--repeat")
    metafunc.parametrize("pair", pairs, ids=str, scope="session")
    if repeat > 1:  # the non-timing pairs' repetitions are deselected at collection
        metafunc.fixturenames.append("repetition")
        metafunc.parametrize("repetition", range(repeat), ids=lambda n: f"run{n}", indirect=True)


@pytest.fixture
def repetition(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--long"):
        waiting = [i for i in items if i.get_closest_marker("long")]
        config.hook.pytest_deselected(items=waiting)
        items[:] = [i for i in items if i not in waiting]
    clauses = config.getoption("--clause")
    if clauses:

        def other(item: pytest.Item) -> bool:
            marker = item.get_closest_marker("clause")
            return marker is None or str(marker.args[0]) not in clauses

        config.hook.pytest_deselected(items=[i for i in items if other(i)])
        items[:] = [i for i in items if not other(i)]
    extra = [i for i in items if params_of(i).get("repetition", 0) and not params_of(i)["pair"].flip.timing]
    if extra:
        config.hook.pytest_deselected(items=extra)
        items[:] = [i for i in items if i not in extra]
    # With `--dist loadgroup`, the tests that share one of a pair's servers go to one worker, so
    # it starts once; each server's tests are a group of their own, and so are those that start
    # servers of their own (a configuration, a signal), so that other workers run them meanwhile:
    # most of a pair's time is spent waiting (back-offs, time-outs, grace periods), not computing.
    for item in items:
        params = params_of(item)
        if "pair" in params:
            item.add_marker(pytest.mark.xdist_group(f"{params['pair']}+{server_group(item)}"))


#: The shared servers of a pair, each the key of an xdist group; the faults of clause 10 are a
#: group of their own (their waits are most of the contract tier's), on a `live` server of its own.
SHARED = ("probe", "live", "tuned", "defaults")


def server_group(item: pytest.Item) -> str:
    used = set(getattr(item, "fixturenames", ()))
    shared = next((name for name in SHARED if name in used), "own")
    marker = item.get_closest_marker("clause")
    if shared == "live" and marker is not None and str(marker.args[0]) == "10":
        return "faults"
    if "fresh_probe" in used:  # a signal and a wait each: several of a pair's at once, on other workers
        return f"own-{getattr(item, 'originalname', item.name)}"
    return shared


#: Why the tests of a pair did not stay together, when they did not (see `pytest_collection_finish`).
UNGROUPED: list[str] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    """With `--dist loadgroup`, each pair's tests must reach one worker, or every worker starts
    every pair's servers, again and again: pytest-xdist groups by a suffix it writes into the
    node ids, which some pytest releases ignore (pytest-dev/pytest-xdist#1386)."""
    if not getattr(
        session.config.option, "loadgroup", False
    ):  # set in the workers of a `--dist loadgroup` run
        return
    lost = [i.nodeid for i in session.items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
    if lost:
        UNGROUPED.append(
            f"pytest {pytest.__version__} with this pytest-xdist does not group tests by "
            f"xdist_group (pytest-dev/pytest-xdist#1386): install pytest<9.2"
        )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if UNGROUPED:  # every test says why (a worker's collection error would lose the message)
        pytest.fail(UNGROUPED[0], pytrace=False)


@pytest.fixture(scope="session")
def sink(pytestconfig: pytest.Config) -> Iterator[SmtpSink]:
    port = pytestconfig.getoption("--smtp-port")
    if port is None:
        port = URL_MODE_SMTP_PORT if pytestconfig.getoption("--url") else 0
    with SmtpSink(port=port) as smtp:
        yield smtp


#: The contract tier's handler on the spec's logger, in every server it starts.
def _log_config(path: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"format": "%(levelname)s %(name)s %(message)s"}},
        "handlers": {
            "records": {
                "class": "logging.FileHandler",
                "filename": str(path),
                "formatter": "line",
                "encoding": "utf-8",
            }
        },
        "loggers": {"afterward.mailer": {"handlers": ["records"], "level": "INFO"}},
        "root": {"level": "WARNING", "handlers": []},
    }


def start_live(
    pair: Pair,
    sink: SmtpSink,
    workdir: Path,
    server_args: tuple[str, ...] | list[str] = (),
    records: bool = False,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
) -> Live:
    """Start `pair`'s app with the sink and files of `workdir`. `env` adds to or overrides the
    configuration (an empty value removes a variable: the app then uses its default)."""
    workdir.mkdir(parents=True, exist_ok=True)
    events, log = workdir / "events.jsonl", workdir / "notifications.log"
    args = list(server_args)
    records_path = None
    if records:  # the spec's ERROR record, where a test can read it
        records_path, config = workdir / "records.log", workdir / "logging.json"
        config.write_text(json.dumps(_log_config(records_path)))
        args += [a.format(path=config) for a in RUNNABLE[pair.server].log_config]
    settings = {
        "AFTERWARD_SMTP_HOST": "127.0.0.1",
        "AFTERWARD_SMTP_PORT": str(sink.port),
        EVENTS_ENV: str(events),
        "AFTERWARD_LOG_PATH": str(log),
        **(env or {}),
    }
    removed = [k for k, v in settings.items() if v == ""]
    server = LiveServer(
        pair.app,
        pair.server,
        log_path=workdir / "server.log",
        extra_args=args,
        env={k: v for k, v in settings.items() if v != ""},
        unset=removed,
        quiet=quiet,
    )
    return Live(
        pair,
        server.start(),
        events if EVENTS_ENV not in removed else None,
        Path(settings.get("AFTERWARD_LOG_PATH") or log),
        records_path,
    )


def external(config: pytest.Config) -> Live:
    """The app the user started (`--url`), with the files they named."""

    def path(option: str) -> Path | None:
        value = config.getoption(option)
        return Path(value) if value else None

    return Live(
        Pair("app", EXTERNAL, config.getoption("--url")),
        None,
        path("--events"),
        path("--log"),
        external_url=config.getoption("--url").rstrip("/"),
    )


@pytest.fixture(scope="session")
def live(
    pair: Pair, sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[Live]:
    if pair.server == EXTERNAL:
        yield external(pytestconfig)
        return
    running = start_live(pair, sink, tmp_path_factory.mktemp(f"live-{pair}"), records="probe" not in pair.app)
    yield running
    running.own().stop()


#: The configuration of `tuned`: every setting of clause 9 whose effect the contract can see
#: at the SMTP server, away from its default (the host and port stay the sink's).
TUNED = {
    "AFTERWARD_MAIL_FROM": "alerts@afterward.example.org",
    "AFTERWARD_SMTP_ATTEMPTS": "3",
    "AFTERWARD_SMTP_BACKOFF": "1.5",
    # Far above a loaded machine's stalls: every check on this server talks to the sink under
    # this time-out (at 1 s, a run at a load of 10 on 2 cores saw an attempt of the backoff
    # check never reach the sink, most likely timed out on the way).
    "AFTERWARD_SMTP_TIMEOUT": "3",
}


@pytest.fixture(scope="session")
def tuned(pair: Pair, sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app under test in a second server, started with `TUNED`: one start for the
    configuration checks of clauses 9 and 10, which each use their own addresses."""
    if pair.server == EXTERNAL:
        not_applicable("the app runs elsewhere (--url): the suite cannot start it with another configuration")
    yield from _own(start_live(pair, sink, tmp_path_factory.mktemp(f"tuned-{pair}"), records=True, env=TUNED))


@pytest.fixture(scope="session")
def defaults(pair: Pair, sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app under test in a server started with `AFTERWARD_SMTP_HOST`, `AFTERWARD_SMTP_PORT` and
    `AFTERWARD_LOG_PATH` unset and a `TMPDIR` of its own (`Live.temp_dir`): the spec's defaults."""
    if pair.server == EXTERNAL:
        not_applicable("the app runs elsewhere (--url): the suite cannot start it with another configuration")
    temp = tmp_path_factory.mktemp(f"defaults-{pair}") / "tmp"
    temp.mkdir()
    running = start_live(
        pair,
        sink,
        temp.parent,
        records=True,
        env={
            "AFTERWARD_SMTP_HOST": "",
            "AFTERWARD_SMTP_PORT": "",
            "AFTERWARD_LOG_PATH": "",
            "TMPDIR": str(temp),
        },
    )
    running.temp_dir = temp
    yield from _own(running)


@pytest.fixture
def configured(pair: Pair, sink: SmtpSink, tmp_path: Path) -> Iterator[Any]:
    """`configured(**env)`: the app under test in a server of this test's own, started with
    this configuration (`AFTERWARD_SMTP_ATTEMPTS="2"`, ...; `""` removes a variable)."""
    started: list[Live] = []

    def start(**env: str) -> Live:
        if pair.server == EXTERNAL:
            not_applicable(
                "the app runs elsewhere (--url): the suite cannot start it with another configuration"
            )
        running = start_live(pair, sink, tmp_path / f"server{len(started)}", records=True, env=env)
        started.append(running)
        return running

    yield start
    for running in started:
        stop_own(running)


@pytest.fixture(scope="session")
def gates() -> Iterator[GateServer]:
    server = GateServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def probe(
    pair: Pair,
    sink: SmtpSink,
    gates: GateServer,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> Iterator[Live]:
    running = start_probe(pair, sink, gates, tmp_path_factory.mktemp(f"probe-{pair}"), pytestconfig)
    yield running
    running.own().stop()


def start_probe(
    pair: Pair,
    sink: SmtpSink,
    gates: GateServer,
    workdir: Path,
    config: pytest.Config,
    server_args: tuple[str, ...] = (),
    quiet: bool = False,
) -> Live:
    """The pair's probe, as it is, or as its wrong probe when the pair carries a flip; `quiet`: ready
    without a request (`LiveServer.quiet`)."""
    env = {GATES_ENV: gates.address}
    if pair.flip is not None:
        env |= {FLIP_ENV: ",".join(pair.flip.knobs), **dict(pair.flip.env)}
    args = [*config.getoption("--server-arg"), *(pair.flip.server_args if pair.flip else ()), *server_args]
    if pair.recipe:
        env[RECIPE_ENV] = pair.recipe
        args += recipes()[pair.recipe].server_args
    return start_live(pair, sink, workdir, args, env=env, quiet=quiet)


def stop_own(running: Live) -> None:
    server = running.own()
    server.kill()  # whatever the test left: the process group it started
    if server.proc is not None:
        server.proc.wait(10)


def _own(running: Live) -> Iterator[Live]:
    yield running
    stop_own(running)


@pytest.fixture
def fresh_probe(
    pair: Pair, sink: SmtpSink, gates: GateServer, tmp_path: Path, pytestconfig: pytest.Config
) -> Iterator[Live]:
    """A probe server of this test's own, for tests that stop it."""
    yield from _own(start_probe(pair, sink, gates, tmp_path, pytestconfig))


@pytest.fixture
def recycling_probe(
    pair: Pair, sink: SmtpSink, gates: GateServer, tmp_path: Path, pytestconfig: pytest.Config
) -> Iterator[Live]:
    """A probe under a process manager of this test's own that recycles a worker once it has served one
    request, made ready without a request (`LiveServer.quiet`)."""
    args = RUNNABLE[pair.server].recycle_after_one
    yield from _own(start_probe(pair, sink, gates, tmp_path, pytestconfig, args, quiet=True))


@pytest.fixture
def fresh_live(pair: Pair, sink: SmtpSink, tmp_path: Path) -> Iterator[Live]:
    """The app under test in a server of this test's own, for tests that stop it."""
    if pair.server == EXTERNAL:
        not_applicable("the app runs elsewhere (--url): the suite cannot stop it")
    yield from _own(start_live(pair, sink, tmp_path))


@pytest.fixture
def address() -> str:
    return fresh_address()
