"""Starlette: `BackgroundTasks` attached to the response with `background=`.

Plain Starlette has no dependency injection; `get_query` is a function the handler calls
first, the part FastAPI's `Depends` plays. Starlette runs the tasks after the response
is sent, one after another: `def` tasks in a worker thread, `async def` tasks on the loop.
"""

from starlette.applications import Starlette
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.logwriter import write_log
from shared.mailer import NOTIFIERS
from shared.spec import NOTIFICATION_MESSAGE, SENT_MESSAGE, log_line
from shared.validation import InvalidInput, check_request, error_body


def get_query(request: Request, background_tasks: BackgroundTasks) -> str | None:
    q = request.query_params.get("q")
    check_request(request.path_params["email"], q, request.query_params.get("sender", "sync"))
    if q:
        background_tasks.add_task(write_log, log_line(q))
    return q


async def send_notification(request: Request) -> JSONResponse:
    background_tasks = BackgroundTasks()
    get_query(request, background_tasks)
    email, sender = request.path_params["email"], request.query_params.get("sender", "sync")
    background_tasks.add_task(NOTIFIERS[sender], email, message=NOTIFICATION_MESSAGE)
    return JSONResponse(SENT_MESSAGE, background=background_tasks)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def invalid_input(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    return JSONResponse(error_body(exc), status_code=422)


app = Starlette(
    routes=[
        Route("/send-notification/{email}", send_notification, methods=["POST"]),
        Route("/health", health),
    ],
    exception_handlers={InvalidInput: invalid_input},
)
