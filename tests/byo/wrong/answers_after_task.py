"""Wrong: awaits the e-mail before answering (breaks clause 5: the client has the answer while the e-mail is
being sent)."""

from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from tests.byo import notify_app as n

app = FastAPI(exception_handlers={n.InvalidInput: n.invalid_input})
app.get("/health")(n.health)


def check_only(email: str, q: str | None = None, sender: str | None = None) -> str | None:
    n.check_input(email, q, sender)
    return q


@app.post("/send-notification/{email}")
async def send_notification(
    email: str, q: Annotated[str | None, Depends(check_only)], sender: str | None = None
) -> JSONResponse:
    if q:
        await run_in_threadpool(n.write_log, n.log_line(q))
    if sender == "async":
        await n.write_notification_async(email, message=n.MESSAGE)
    else:
        await run_in_threadpool(n.write_notification, email, message=n.MESSAGE)
    return n.answer()  # the mistake: only now, after the e-mail
