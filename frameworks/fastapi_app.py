"""FastAPI: `BackgroundTasks` injected into the path operation and into a dependency.

The dependency runs before the path operation and receives the same `BackgroundTasks`,
so its log task is registered first and runs first. FastAPI runs the tasks after the
response is sent: `def` tasks in a worker thread, `async def` tasks on the event loop.
"""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from shared.logwriter import write_log
from shared.mailer import NOTIFIERS
from shared.spec import NOTIFICATION_MESSAGE, SENT_MESSAGE, log_line
from shared.validation import InvalidInput, check_request, error_body

router = APIRouter()


def get_query(background_tasks: BackgroundTasks, email: str, q: str | None = None,
              sender: str = "sync") -> str | None:
    check_request(email, q, sender)
    if q:
        background_tasks.add_task(write_log, log_line(q))
    return q


@router.post("/send-notification/{email}")
async def send_notification(email: str, background_tasks: BackgroundTasks,
                            q: Annotated[str | None, Depends(get_query)], sender: str = "sync"):
    background_tasks.add_task(NOTIFIERS[sender], email, message=NOTIFICATION_MESSAGE)
    return SENT_MESSAGE


@router.get("/health")
async def health():
    return {"status": "ok"}


async def invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
    return JSONResponse(error_body(exc), status_code=422)


app = FastAPI(exception_handlers={InvalidInput: invalid_input})
app.include_router(router)
