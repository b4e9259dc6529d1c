"""Wrong: registers the e-mail in the dependency too (breaks clause 3: exactly one e-mail)."""

from fastapi import BackgroundTasks

from tests.byo import notify_app as n


def get_query(
    background_tasks: BackgroundTasks, email: str, q: str | None = None, sender: str | None = None
) -> str | None:
    n.check_input(email, q, sender)
    if q:
        background_tasks.add_task(n.write_log, n.log_line(q))
    background_tasks.add_task(n.pick_sender(sender), email, message=n.MESSAGE)  # the mistake
    return q


n.app.dependency_overrides[n.get_query] = get_query
app = n.app
