"""One fixture for "a live server of framework X under server Y", and what it needs.

Every test that takes `pair` runs once per framework x server pair (ids like
`[quart-hypercorn]`); `live` is that pair's reference app (or the app given with
`--app`), `probe` its semantics probe. Each server process starts once per pair and
worker, writes its events and log to files the test names, and is killed by PID.

With `--flips`, every semantics test runs instead on its pair's wrong probe
(`conformance/flips.toml`): a pair then carries the flip, and its probe starts with it.
With `--recipe NAME`, every semantics test runs on the recipe's pairs with the recipe
(`conformance/recipes.toml`) applied to the probe, and expects the cells it claims.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
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
from shared.servers import FRAMEWORKS, SERVERS, LiveServer
from shared.sink import SmtpSink

__all__ = ["Live", "Pair", "fresh_address"]

PROBES = {name: f"conformance.probes.{name}_probe:app" for name in FRAMEWORKS}


@dataclass(frozen=True)
class Pair:
    framework: str
    server: str
    app: str
    flip: Flip | None = None
    recipe: str = ""

    def __str__(self) -> str:
        return (f"{self.framework}-{self.server}" + (f"~{self.flip.tag()}" if self.flip else "")
                + (f"+{self.recipe}" if self.recipe else ""))


@dataclass
class Live:
    """A running server plus the files it reports into."""

    pair: Pair
    server: LiveServer
    events_path: Path
    log_path: Path

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 15.0), **kwargs)

    def events(self, request_id: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
        return [e for e in read_events(self.events_path)
                if (request_id is None or e["request_id"] == request_id)
                and (event is None or e["event"] == event)]

    def wait_event(self, request_id: str, event: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """Poll the event file (with a deadline) for an event that must come."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events(request_id, event):
                if all(e.get(k) == v for k, v in match.items()):
                    return e
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event} {match} for {request_id} within {timeout:g} s\n"
                                   f"{self.server.log_tail()}")
            time.sleep(0.01)

    def rss_kib(self) -> int:
        return self.server.rss_kib()

    def log_lines(self) -> list[str]:
        return self.log_path.read_text().splitlines() if self.log_path.exists() else []


def fresh_address() -> str:
    return f"r{uuid.uuid4().hex[:12]}@example.com"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("afterward")
    group.addoption("--app", action="append", default=[], metavar="MODULE:ATTR",
                    help="run the contract tier against this ASGI app instead of the four frameworks")
    group.addoption("--server", action="append", default=[], choices=sorted(SERVERS),
                    help="only these servers (default: all)")
    group.addoption("--framework", action="append", default=[], choices=sorted(FRAMEWORKS),
                    help="only these frameworks (default: all)")
    group.addoption("--flips", action="store_true",
                    help="run each semantics test on its wrong probe (conformance/flips.toml) instead")
    group.addoption("--repeat", type=int, default=1, metavar="N",
                    help="with --flips: run the flips marked `timing` N times")
    group.addoption("--server-arg", action="append", default=[], metavar="ARG",
                    help="one more argument for every server command line "
                         "(`--server-arg=--graceful-timeout=5`); the suite's own tests use it to run a probe "
                         "under a setting that flips a property")
    group.addoption("--recipe", choices=sorted(recipes()), metavar="NAME",
                    help="run each semantics test with this recipe (conformance/recipes.toml) applied to the "
                         "probe, on the recipe's pairs, expecting the cells it claims")


def _pairs(config: pytest.Config, probes: bool) -> list[Pair]:
    servers = config.getoption("--server") or list(SERVERS)
    if config.getoption("--app") and not probes:
        apps = {a.partition(":")[0].rpartition(".")[2]: a for a in config.getoption("--app")}
    else:
        names = config.getoption("--framework") or list(FRAMEWORKS)
        apps = {n: (PROBES if probes else FRAMEWORKS)[n] for n in names}
    return [Pair(name, server, app) for name, app in apps.items() for server in servers]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pair" not in metafunc.fixturenames:
        return
    probes = "probe" in metafunc.fixturenames or "fresh_probe" in metafunc.fixturenames
    pairs = _pairs(metafunc.config, probes)
    repeat = 1
    if probes:  # measure only the cells the declared table says apply
        from conformance.declared import cell

        prop = metafunc.function.__name__.removeprefix("test_")
        pairs = [p for p in pairs if (c := cell(prop, p.framework, p.server)) is not None and c.measured]
        recipe = metafunc.config.getoption("--recipe")
        if recipe:
            pairs = [Pair(p.framework, p.server, p.app, recipe=recipe) for p in pairs
                     if (p.framework, p.server) in recipes()[recipe].pairs()]
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    extra = [i for i in items if getattr(i, "callspec", None) and i.callspec.params.get("repetition", 0)
             and not i.callspec.params["pair"].flip.timing]
    if extra:
        config.hook.pytest_deselected(items=extra)
        items[:] = [i for i in items if i not in extra]
    # One worker per pair (with `--dist loadgroup`), so each server process starts once.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "pair" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(str(callspec.params["pair"])))


@pytest.fixture(scope="session")
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as smtp:
        yield smtp


def start_live(pair: Pair, sink: SmtpSink, workdir: Path, server_args: tuple[str, ...] | list[str] = (),
               **env: str) -> Live:
    workdir.mkdir(parents=True, exist_ok=True)
    events, log = workdir / "events.jsonl", workdir / "notifications.log"
    server = LiveServer(pair.app, pair.server, log_path=workdir / "server.log", extra_args=server_args, env={
        "AFTERWARD_SMTP_HOST": "127.0.0.1",
        "AFTERWARD_SMTP_PORT": str(sink.port),
        EVENTS_ENV: str(events),
        "AFTERWARD_LOG_PATH": str(log),
        **env,
    })
    return Live(pair, server.start(), events, log)


@pytest.fixture(scope="session")
def live(pair: Pair, sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    running = start_live(pair, sink, tmp_path_factory.mktemp(f"live-{pair}"))
    yield running
    running.server.stop()


@pytest.fixture(scope="session")
def gates() -> Iterator[GateServer]:
    server = GateServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def probe(pair: Pair, sink: SmtpSink, gates: GateServer, tmp_path_factory: pytest.TempPathFactory,
          pytestconfig: pytest.Config) -> Iterator[Live]:
    running = start_probe(pair, sink, gates, tmp_path_factory.mktemp(f"probe-{pair}"), pytestconfig)
    yield running
    running.server.stop()


def start_probe(pair: Pair, sink: SmtpSink, gates: GateServer, workdir: Path, config: pytest.Config) -> Live:
    """The pair's probe, as it is, or as its wrong probe when the pair carries a flip."""
    env = {GATES_ENV: gates.address}
    if pair.flip is not None:
        env |= {FLIP_ENV: ",".join(pair.flip.knobs), **dict(pair.flip.env)}
    args = [*config.getoption("--server-arg"), *(pair.flip.server_args if pair.flip else ())]
    if pair.recipe:
        env[RECIPE_ENV] = pair.recipe
        args += recipes()[pair.recipe].server_args
    return start_live(pair, sink, workdir, args, **env)


def _own(running: Live) -> Iterator[Live]:
    yield running
    running.server.kill()  # whatever the test left: the process group it started
    if running.server.proc is not None:
        running.server.proc.wait(10)


@pytest.fixture
def fresh_probe(pair: Pair, sink: SmtpSink, gates: GateServer, tmp_path: Path,
                pytestconfig: pytest.Config) -> Iterator[Live]:
    """A probe server of this test's own, for tests that stop it."""
    yield from _own(start_probe(pair, sink, gates, tmp_path, pytestconfig))


@pytest.fixture
def fresh_live(pair: Pair, sink: SmtpSink, tmp_path: Path) -> Iterator[Live]:
    """The app under test in a server of this test's own, for tests that stop it."""
    yield from _own(start_live(pair, sink, tmp_path))


@pytest.fixture
def address() -> str:
    return fresh_address()
