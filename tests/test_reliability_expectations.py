"""The SIGTERM model: what the declared grace and pool predict for held notifications."""

import pytest

from reliability.expectations import Shutdown, in_process_after_kill

SENDERS = ["async"] * 10 + ["sync"] * 10


def test_a_grace_shorter_than_the_hold_cancels_async_and_queued_def_senders() -> None:
    anyio = Shutdown(grace=3.0, pool=40, hold=4.0)
    assert anyio.confirmed(SENDERS) == "10/20 (async 0/10, def 10/10)"
    assert anyio.unrecorded_bound(SENDERS) == 10
    executor = Shutdown(grace=3.0, pool=6, hold=4.0)
    assert executor.confirmed(SENDERS) == "6/20 (async 0/10, def 6/10)"
    assert executor.running_sync(SENDERS) == 6


@pytest.mark.parametrize("model", [Shutdown(None, 40, 4.0), Shutdown(5.0, 6, 4.0), Shutdown(3.0, 40, 0.0)])
def test_a_grace_longer_than_the_hold_or_none_loses_nothing(model: Shutdown) -> None:
    assert model.confirmed(SENDERS) == "20/20 (async 10/10, def 10/10)"
    assert model.unrecorded_bound(SENDERS) == 0


def test_a_hold_too_close_to_the_grace_is_refused() -> None:
    with pytest.raises(ValueError, match="race"):
        Shutdown(3.0, 40, 3.2).confirmed(SENDERS)


def test_the_model_reads_the_declared_table() -> None:
    assert Shutdown.declared("fastapi", "uvicorn", 4.0).grace is None
    assert Shutdown.declared("starlette", "hypercorn", 4.0) == Shutdown(3.0, 40, 4.0)
    assert Shutdown.declared("quart", "hypercorn", 4.0).grace == 5.0
    assert Shutdown.configured("litestar", "hypercorn", 4.0).grace == 30.0


def test_a_worker_killed_at_the_end_of_its_grace_loses_every_sender_whatever_is_configured() -> None:
    """`hypercorn --workers 2`: the busy worker is terminated once the idle one has exited; a lone
    hypercorn, with one worker, gives it `graceful_timeout`. The model reads it from the table."""
    from shared.axes import MANAGERS

    manager = next(m.name for m in MANAGERS.values() if m.base == "hypercorn")
    killed = Shutdown.declared("fastapi", manager, 4.0)
    assert killed.kills and killed.confirmed(SENDERS) == "0/20 (async 0/10, def 0/10)"
    assert Shutdown.configured("fastapi", manager, 4.0) == killed  # a longer grace does not save it
    assert not Shutdown.declared("fastapi", "hypercorn", 4.0).kills
    assert not Shutdown.declared("quart", "uvicorn", 4.0).kills  # its thread is lost, its short task not


def test_in_process_tasks_lose_what_is_in_flight_and_keep_what_was_delivered() -> None:
    assert in_process_after_kill(20, 10) == ("20/20", "10/10")


def test_a_server_without_grace_stops_the_loop_and_cancels_nothing() -> None:
    """granian: async def senders never resume; every def sender finishes, the executor's queued ones too."""
    executor = Shutdown.declared("litestar", "granian", 4.0)
    assert (executor.grace, executor.stops_loop) == (0.0, True)
    assert executor.confirmed(SENDERS) == "10/20 (async 0/10, def 10/10)"
    assert executor.unrecorded_bound(SENDERS) == 10


def test_a_server_without_a_grace_setting_is_configured_as_it_is_by_default() -> None:
    assert Shutdown.configured("fastapi", "granian", 4.0) == Shutdown.declared("fastapi", "granian", 4.0)
    assert Shutdown.configured("quart", "granian", 4.0).grace == 30.0  # Quart's own time-out still applies


def test_a_zero_hold_that_races_a_zero_grace_is_lengthened_past_its_tolerance() -> None:
    assert Shutdown.hold_for("fastapi", "granian", 0.0) > Shutdown.declared("fastapi", "granian", 0.0).margin
    assert Shutdown.hold_for("fastapi", "hypercorn", 0.0) == 0.0
    assert Shutdown.hold_for("quart", "granian", 0.0) == 0.0  # Quart's 5-s grace, not granian's


def test_the_stop_windows_setting_is_every_grace_a_second_short_of_the_window() -> None:
    from reliability.test_shutdown import window_setting
    from shared.axes import RUNNABLE

    assert window_setting("hypercorn", "fastapi", 10.0) == (("--graceful-timeout", "9"), {})
    assert window_setting("uvicorn", "quart", 30.0) == (
        ("--timeout-graceful-shutdown", "29"), {"QUART_BACKGROUND_TASK_SHUTDOWN_TIMEOUT": "29"})
    graceless = next(name for name, record in RUNNABLE.items() if record.grace_option is None)
    assert window_setting(graceless, "fastapi", 10.0) == ((), {})
    # Work that fits in docker's window: hypercorn's 3-s default cancels the async senders; 9 s does not.
    defaults = Shutdown.declared("fastapi", "hypercorn", 8.0)
    assert defaults.confirmed(SENDERS) == "10/20 (async 0/10, def 10/10)"
    assert Shutdown.configured("fastapi", "hypercorn", 8.0, grace=9.0).confirmed(SENDERS) == \
        "20/20 (async 10/10, def 10/10)"
