"""Wrong: registers the e-mail, then checks `sender` in the handler and returns the 422; FastAPI runs the
tasks of any response returned (breaks clause 8: nothing is sent)."""

from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI
from fastapi.responses import JSONResponse

from tests.byo import notify_app as n

app = FastAPI(exception_handlers={n.InvalidInput: n.invalid_input})
app.get("/health")(n.health)


def get_query(background_tasks: BackgroundTasks, email: str, q: str | None = None) -> str | None:
    n.check_email(email)
    n.check_q(q)
    if q:
        background_tasks.add_task(n.write_log, n.log_line(q))
    return q


@app.post("/send-notification/{email}")
async def send_notification(
    email: str,
    background_tasks: BackgroundTasks,
    q: Annotated[str | None, Depends(get_query)],
    sender: str | None = None,
) -> JSONResponse:
    background_tasks.add_task(n.pick_sender(sender), email, message=n.MESSAGE)
    try:
        n.check_sender(sender)
    except n.InvalidInput as error:
        return JSONResponse(n.error_body(error), status_code=422)  # the e-mail rides on it
    return n.answer()
