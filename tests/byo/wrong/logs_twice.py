"""Wrong: registers the log task twice (breaks clause 2: one `write_log` per request)."""

from fastapi import BackgroundTasks

from tests.byo import notify_app as n


def get_query(
    background_tasks: BackgroundTasks, email: str, q: str | None = None, sender: str | None = None
) -> str | None:
    n.check_input(email, q, sender)
    if q:
        background_tasks.add_task(n.write_log, n.log_line(q))
        background_tasks.add_task(n.write_log, n.log_line(q))  # the mistake
    return q


n.app.dependency_overrides[n.get_query] = get_query
app = n.app
