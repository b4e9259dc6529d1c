"""The contract tier's fixtures, durable: `live` and `fresh_live` serve a framework's durable twin.

One Redis and one Celery worker per test process serve every pair (the worker does not
depend on the framework); each pair's web app runs under its server with the same
configuration. The tests themselves are the contract tier's, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.fixtures import Live, Pair
from durable.stack import Stack, durable_app
from shared.servers import LiveServer
from shared.sink import SmtpSink


@pytest.fixture(scope="session")
def backend(sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Redis and one worker, no web server: each pair starts its own on them."""
    with Stack("", "uvicorn", sink.port, tmp_path_factory.mktemp("durable")).start(web=False) as stack:
        yield stack


def start_durable(pair: Pair, backend: Stack, workdir: Path, app: str | None = None, **env: str) -> Live:
    """The pair's durable app (or `app`) under its server, on the backend (or what `env` says)."""
    workdir.mkdir(parents=True, exist_ok=True)
    server = LiveServer(app or durable_app(pair.framework), pair.server, log_path=workdir / "server.log",
                        env={**backend.env(), **env}).start()
    return Live(Pair(pair.framework, pair.server, server.app), server, backend.events_path, backend.log_path)


@pytest.fixture(scope="session")
def live(pair: Pair, backend: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    running = start_durable(pair, backend, tmp_path_factory.mktemp(f"durable-{pair}"))
    yield running
    running.server.stop()


@pytest.fixture
def fresh_live(pair: Pair, backend: Stack, tmp_path: Path) -> Iterator[Live]:
    running = start_durable(pair, backend, tmp_path)
    yield running
    running.server.kill()
    if running.server.proc is not None:
        running.server.proc.wait(10)
