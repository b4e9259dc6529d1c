"""The contract tier's fixtures, durable: `live`, `fresh_live`, `configured`, `tuned` and
`defaults` serve a framework's durable twin, on the engine `--engine` names (default Celery).

One Redis and one worker per test process serve every pair (the worker does not
depend on the framework); each pair's web app runs under its server with the same
configuration. `configured(**env)` starts a whole stack of its own, since most of the
configuration is the worker's. The worker runs one round of attempts
(`AFTERWARD_DURABLE_ROUNDS=1`), so that clause 10 holds as the contract tier checks it;
durable/test_tasks.py checks the later rounds. The tests themselves are the contract
tier's, unchanged.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from conformance.fixtures import TUNED, Live, Pair
from durable.redis_server import redis_version
from durable.stack import DurableServer, Stack, durable_app
from shared.axes import DEFAULT_ENGINE, ENGINES, Engine
from shared.sink import SmtpSink

#: The contract tier's worker: clause 10's one round of attempts.
CONTRACT_ENV = {"AFTERWARD_DURABLE_ROUNDS": "1"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("afterward")
    group.addoption("--engine", default=DEFAULT_ENGINE.name, choices=list(ENGINES),
                    help=f"the durable engine the apps enqueue on and the workers run "
                         f"(default: {DEFAULT_ENGINE.name})")
    group.addoption("--observed", metavar="DIR", type=Path,
                    help="write what each engine check observed under DIR/<engine>/ (for docs/queues.md)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On another engine than Celery, the checks of Celery's own code or settings are deselected
    (and counted in pytest's summary): the engine has no such code."""
    if config.getoption("--engine") == "celery":
        return
    celery = [item for item in items if item.get_closest_marker("celery_only")]
    if celery:
        config.hook.pytest_deselected(items=celery)
        items[:] = [item for item in items if not item.get_closest_marker("celery_only")]


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> Engine:
    return ENGINES[request.config.getoption("--engine")]


@pytest.fixture
def observe(request: pytest.FixtureRequest,
            engine: Engine) -> Iterator[Callable[[str, dict[str, Any]], None]]:
    """`observe(prop, seen)`: what a check of durable/test_engines.py saw, kept (with `--observed`)
    as DIR/<engine>/<prop>.json once the check has passed, so a failed check leaves the last
    passing observation in place."""
    seen: dict[str, dict[str, Any]] = {}
    yield lambda prop, value: seen.__setitem__(prop, value)
    root = request.config.getoption("--observed")
    report = getattr(request.node, "rep_call", None)
    if root is None or report is None or not report.passed:
        return
    for prop, value in seen.items():
        path = root / engine.name / f"{prop}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if seen:
        versions = {name: metadata.version(name) for name in (engine.package, "redis")}
        versions.update(python=platform.python_version(), redis_server=redis_version())
        text = json.dumps(versions, indent=1, sort_keys=True) + "\n"
        (root / engine.name / "versions.json").write_text(text, encoding="utf-8")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


@pytest.fixture(scope="session")
def backend(sink: SmtpSink, engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Redis and one worker, no web server: each pair starts its own on them."""
    stack = Stack("", "uvicorn", sink.port, tmp_path_factory.mktemp("durable"), extra_env=dict(CONTRACT_ENV),
                  engine=engine)
    with stack.start(web=False):
        yield stack


def start_durable(pair: Pair, backend: Stack, workdir: Path, app: str | None = None, **env: str) -> Live:
    """The pair's durable app (or `app`) under its server, on the backend (or what `env` says)."""
    workdir.mkdir(parents=True, exist_ok=True)
    server = DurableServer(app or durable_app(pair.framework), pair.server, log_path=workdir / "server.log",
                           env={**backend.env(), **env}, unset=backend.unset(),
                           workers=lambda: backend.running).start()
    return Live(Pair(pair.framework, pair.server, server.app), server, backend.events_path, backend.log_path,
                backend.records_path)


def _stop(running: Live) -> None:
    assert running.server is not None
    running.server.kill()
    if running.server.proc is not None:
        running.server.proc.wait(10)


@pytest.fixture(scope="session")
def live(pair: Pair, backend: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    running = start_durable(pair, backend, tmp_path_factory.mktemp(f"durable-{pair}"))
    yield running
    assert running.server is not None
    running.server.stop()


@pytest.fixture
def fresh_live(pair: Pair, backend: Stack, tmp_path: Path) -> Iterator[Live]:
    running = start_durable(pair, backend, tmp_path)
    yield running
    _stop(running)


def own_stack(pair: Pair, sink: SmtpSink, workdir: Path, engine: Engine, **env: str) -> tuple[Stack, Live]:
    """Redis, a worker and the pair's durable app of their own, all with this configuration
    (`""` removes a variable): most of the configuration is the worker's."""
    app = durable_app(pair.framework)
    stack = Stack(app, pair.server, sink.port, workdir, extra_env={**CONTRACT_ENV, **env}, engine=engine)
    stack.start()
    assert stack.web is not None
    return stack, Live(Pair(pair.framework, pair.server, stack.app), stack.web, stack.events_path,
                       stack.log_path, stack.records_path)


@pytest.fixture
def configured(pair: Pair, sink: SmtpSink, engine: Engine, tmp_path: Path) -> Iterator[Callable[..., Live]]:
    """`configured(**env)`: a stack of this test's own (`own_stack`) with this configuration."""
    stacks: list[Stack] = []

    def start(**env: str) -> Live:
        stack, running = own_stack(pair, sink, tmp_path / f"stack{len(stacks)}", engine, **env)
        stacks.append(stack)
        return running

    yield start
    for stack in stacks:
        stack.stop()


@pytest.fixture(scope="session")
def tuned(pair: Pair, sink: SmtpSink, engine: Engine,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The contract tier's `tuned`, durable: a stack of its own with `TUNED`."""
    stack, running = own_stack(pair, sink, tmp_path_factory.mktemp(f"tuned-{pair}"), engine, **TUNED)
    yield running
    stack.stop()


@pytest.fixture(scope="session")
def defaults(pair: Pair, sink: SmtpSink, engine: Engine,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The contract tier's `defaults`, durable: a stack of its own with the SMTP server and the
    log path unset and a `TMPDIR` of its own, for the web app and the worker alike."""
    temp = tmp_path_factory.mktemp(f"defaults-{pair}") / "tmp"
    temp.mkdir()
    unset = {"AFTERWARD_SMTP_HOST": "", "AFTERWARD_SMTP_PORT": "", "AFTERWARD_LOG_PATH": ""}
    stack, running = own_stack(pair, sink, temp.parent / "stack", engine, **unset, TMPDIR=str(temp))
    running.temp_dir = temp
    yield running
    stack.stop()
