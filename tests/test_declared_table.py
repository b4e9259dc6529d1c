"""The declared table is complete and its rendering is committed."""


from conformance.declared import properties
from shared.servers import FRAMEWORKS, REPO

REQUIRED = """task_starts_after_response response_before_task_finishes tasks_run_sequentially
tasks_run_in_registration_order dependency_task_runs_first sync_task_thread async_task_thread
sync_task_pool_size blocking_async_task_delays_other_requests blocking_async_task_delays_own_response
blocking_sync_task_delays_other_requests failed_task_skips_later_tasks failed_task_status_seen_by_client
failed_task_closes_keepalive_connection keepalive_next_request_waits_for_task tasks_run_when_handler_errors
client_disconnect_before_response_runs_task streaming_response_task_starts_after_last_chunk
contextvar_set_before_adding_visible_in_task contextvar_set_after_adding_visible_in_task
contextvar_from_sync_endpoint_visible_in_task sigterm_lets_short_task_finish sigterm_default_grace_seconds
returned_response_background_drops_injected_tasks yield_dependency_cleanup_before_tasks
task_group_runs_tasks_concurrently handler_background_vs_response_background""".split()


def test_every_property_has_a_cell_for_every_framework() -> None:
    props = properties()
    assert set(REQUIRED) <= set(props)
    for prop in props.values():
        assert prop.meaning and prop.values, prop.name
        for framework in FRAMEWORKS:
            cell = prop.cell(framework, "uvicorn")
            assert cell is not None, (prop.name, framework)
            assert cell.na or (cell.source.startswith("https://") and (cell.why or cell.by_construction)), (
                prop.name, framework)


def test_every_measured_property_has_a_test() -> None:
    source = (REPO / "conformance" / "test_semantics.py").read_text()
    for name in properties():
        assert f"def test_{name}(" in source, name


