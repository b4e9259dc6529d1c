"""Wrong: takes a `q` of spaces for no `q` (breaks clause 2: a `q` that is given and not empty is
logged)."""

from fastapi import BackgroundTasks

from tests.byo import notify_app as n


def get_query(
    background_tasks: BackgroundTasks, email: str, q: str | None = None, sender: str | None = None
) -> str | None:
    n.check_input(email, q, sender)
    if q and q.strip():  # the mistake: blank taken for empty
        background_tasks.add_task(n.write_log, n.log_line(q))
    return q


n.app.dependency_overrides[n.get_query] = get_query
app = n.app
