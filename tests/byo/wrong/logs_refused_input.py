"""Wrong: registers the log task, then checks `q` in the handler and returns the 422; FastAPI runs the tasks
of any response returned (breaks clause 8: nothing is logged)."""

from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI
from fastapi.responses import JSONResponse

from tests.byo import notify_app as n

app = FastAPI(exception_handlers={n.InvalidInput: n.invalid_input})
app.get("/health")(n.health)


def register_log(
    background_tasks: BackgroundTasks, email: str, q: str | None = None, sender: str | None = None
) -> str | None:
    n.check_email(email)
    if q:
        background_tasks.add_task(n.write_log, n.log_line(q))
    return q


@app.post("/send-notification/{email}")
async def send_notification(
    email: str,
    background_tasks: BackgroundTasks,
    q: Annotated[str | None, Depends(register_log)],
    sender: str | None = None,
) -> JSONResponse:
    try:
        n.check_q(q)
        n.check_sender(sender)
    except n.InvalidInput as error:
        return JSONResponse(n.error_body(error), status_code=422)  # the log task rides on it
    background_tasks.add_task(n.pick_sender(sender), email, message=n.MESSAGE)
    return n.answer()
