"""The process managers' runs: ready once every worker takes connections, and, for the request
limit's property, ready without a request."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.managers import keyword, selected
from shared.axes import MANAGERS, SERVERS
from shared.servers import LiveServer, ServerFailed

APP = "frameworks.fastapi_app:app"
ENV = {"AFTERWARD_SMTP_PORT": "1"}  # no mail is sent here


@pytest.mark.parametrize("name", list(MANAGERS))
def test_a_manager_is_ready_once_each_worker_takes_connections(name: str) -> None:
    with LiveServer(APP, name, env=ENV) as server:
        workers = server.workers()
        assert len(workers) == MANAGERS[name].workers, workers
        assert server.pid not in workers  # the manager's own process takes none
        assert set(workers) <= set(server.pids())


def test_a_lone_server_takes_connections_itself_or_in_its_one_worker() -> None:
    for name in SERVERS:
        with LiveServer(APP, name, env=ENV) as server:
            assert len(server.workers()) == 1, name


def test_a_manager_short_of_workers_is_not_ready() -> None:
    """The wrong setting: uvicorn's supervisor told (last) to run one worker never has two taking
    connections, and the start says so instead of going on."""
    with pytest.raises(ServerFailed, match="not ready within 3 s"):
        LiveServer(APP, "uvicorn-workers", env=ENV, extra_args=("--workers", "1"), ready_timeout=3).start()


def test_a_quiet_start_sends_no_request(tmp_path: Path) -> None:
    """Made ready without a request, a manager that recycles a worker after one request keeps both:
    its access log has no request in it; the usual start, polling `GET /health`, has one."""
    manager = MANAGERS["uvicorn-workers"]
    quiet, loud = tmp_path / "quiet.log", tmp_path / "loud.log"
    with LiveServer(APP, manager.name, env=ENV, log_path=quiet, extra_args=manager.recycle_after_one,
                    quiet=True) as server:
        assert len(server.workers()) == 2
    with LiveServer(APP, manager.name, env=ENV, log_path=loud):
        pass
    assert "GET /health" not in quiet.read_text()
    assert "GET /health" in loud.read_text()


def test_the_managers_run_selects_the_contract_and_a_deployments_properties() -> None:
    chosen = selected()
    own = ("recycled_worker_lets_short_task_finish", "blocked_worker_killed_after_seconds")
    assert set(own) <= set(chosen)
    assert all(name.startswith("sigterm_") or name in own for name in chosen)
    assert "test_contract" in keyword() and "tasks_run_sequentially" not in keyword()
