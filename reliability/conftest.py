import pytest

from reliability import FULL
from shared.servers import FRAMEWORKS, RUNNABLE, SERVERS

#: The quick run's one durable SIGKILL case (the full run has three per pair): the worker
#: killed mid-delivery, which only redelivery can save.
QUICK_DURABLE = "worker"
#: The durable rows: the full run has them all on every pair; the quick run has the case above
#: (the SIGTERM and hung-broker checks run in `durable_quick`, on one pair).
ROLLING_RESTART = "test_rolling_restart_under_load_loses_nothing"
STOP_WINDOW = "test_stop_window_delivers_what_fits"
DURABLE_TESTS = ("test_durable_sigkill_loses_nothing", "test_durable_sigterm_loses_nothing",
                 "test_durable_hung_broker_is_answered_503_within_the_bound")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Tests that take the server alone (the apps at once) honour --server, as `pair` does.
    if "server" in metafunc.fixturenames and "pair" not in metafunc.fixturenames:
        servers = metafunc.config.getoption("--server") or list(SERVERS)
        metafunc.parametrize("server", servers, scope="session")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    durable = [i for i in items if getattr(i, "originalname", "") in DURABLE_TESTS]
    if config.getoption("--app"):  # an app of the user's own has no durable twin here
        keep = []
    elif FULL:
        keep = durable
    else:
        keep = [i for i in durable if getattr(i, "originalname", "") == DURABLE_TESTS[0]
                and i.callspec.params["target"] == QUICK_DURABLE][:1]  # type: ignore
    # The default SMTP time-out is a 30-s wait per pair: the quick run has it on the first pair only.
    slow = [i for i in items if getattr(i, "originalname", "") == "test_default_time_out_is_30_s"]
    keep += slow if FULL else slow[:1]
    # A rolling restart is a process manager's: on a lone server there is nothing to restart it.
    lone = [i for i in items if getattr(i, "originalname", "") == ROLLING_RESTART
            and not RUNNABLE[i.callspec.params["pair"].server].manager]  # type: ignore[attr-defined]
    # The stop windows hold notifications 8 and 28 s per pair: the full run's.
    windows = [] if FULL else [i for i in items if getattr(i, "originalname", "") == STOP_WINDOW]
    dropped = [i for i in durable + slow if i not in keep] + lone + windows
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]
    # Tests parametrized by server alone (the four apps at once) share a worker per server.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "server" in callspec.params and "pair" not in callspec.params:
            item.add_marker(pytest.mark.xdist_group(f"all-{callspec.params['server']}"))


@pytest.fixture(scope="session")
def apps(request: pytest.FixtureRequest) -> dict[str, str]:
    """Name -> import string of the apps under test: the reference apps (or those named with
    --framework), or the apps given with --app, named by their module."""
    given = request.config.getoption("--app")
    if given:
        return {a.partition(":")[0].rpartition(".")[2]: a for a in given}
    names = request.config.getoption("--framework") or list(FRAMEWORKS)
    return {name: FRAMEWORKS[name].app for name in names}
