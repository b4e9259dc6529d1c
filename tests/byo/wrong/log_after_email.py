"""Wrong: registers the log task in the handler, after the e-mail (breaks clause 2: the log line is in the log
before the e-mail reaches SMTP)."""

from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI
from fastapi.responses import JSONResponse

from tests.byo import notify_app as n

app = FastAPI(exception_handlers={n.InvalidInput: n.invalid_input})
app.get("/health")(n.health)


def check_only(email: str, q: str | None = None, sender: str | None = None) -> str | None:
    n.check_input(email, q, sender)
    return q


@app.post("/send-notification/{email}")
async def send_notification(
    email: str,
    background_tasks: BackgroundTasks,
    q: Annotated[str | None, Depends(check_only)],
    sender: str | None = None,
) -> JSONResponse:
    background_tasks.add_task(n.pick_sender(sender), email, message=n.MESSAGE)
    if q:
        background_tasks.add_task(n.write_log, n.log_line(q))  # the mistake: after the e-mail
    return n.answer()
