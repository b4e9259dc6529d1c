"""Wrong: logs `found query: ` for `?q=` (breaks clause 2: only when `q` is given and not empty)."""

from fastapi import BackgroundTasks

from tests.byo import notify_app as n


def get_query(
    background_tasks: BackgroundTasks, email: str, q: str | None = None, sender: str | None = None
) -> str | None:
    n.check_input(email, q, sender)
    if q is not None:  # the mistake: an empty `q` is "given"
        background_tasks.add_task(n.write_log, n.log_line(q))
    return q


n.app.dependency_overrides[n.get_query] = get_query
app = n.app
