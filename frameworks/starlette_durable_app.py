"""Starlette, durable: the notification goes to a queue on Redis instead of `BackgroundTasks`.

`get_query` still checks the request first; the handler enqueues one task (the log line,
then the e-mail) that a worker process runs, on the engine `AFTERWARD_ENGINE` names
(durable/queue.py). A broker that cannot be reached is answered 503, with nothing queued.
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from durable.queue import BrokerUnavailable, enqueue, unavailable_body
from shared.spec import SENT_MESSAGE, log_line
from shared.validation import InvalidInput, check_request, error_body


def get_query(request: Request) -> str | None:
    q = request.query_params.get("q")
    check_request(request.path_params["email"], q, request.query_params.get("sender", "sync"))
    return log_line(q) if q else None


async def send_notification(request: Request) -> JSONResponse:
    log = get_query(request)
    email, sender = request.path_params["email"], request.query_params.get("sender", "sync")
    await enqueue(email, sender, log)
    return JSONResponse(SENT_MESSAGE)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def invalid_input(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    return JSONResponse(error_body(exc), status_code=422)


async def broker_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(unavailable_body(exc), status_code=503)


app = Starlette(
    routes=[
        Route("/send-notification/{email}", send_notification, methods=["POST"]),
        Route("/health", health),
    ],
    exception_handlers={InvalidInput: invalid_input, BrokerUnavailable: broker_unavailable},
)
