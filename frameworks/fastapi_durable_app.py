"""FastAPI, durable: the notification goes to a queue on Redis instead of `BackgroundTasks`.

The dependency still checks the request first; the path operation enqueues one task (the
log line, then the e-mail) that a worker process runs, on the engine `AFTERWARD_ENGINE`
names (durable/queue.py). A broker that cannot be reached is answered 503, with nothing
queued.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from durable.queue import BrokerUnavailable, enqueue, unavailable_body
from shared.spec import SENT_MESSAGE, log_line
from shared.validation import InvalidInput, check_request, error_body

router = APIRouter()


def get_query(email: str, q: str | None = None, sender: str = "sync") -> str | None:
    check_request(email, q, sender)
    return log_line(q) if q else None


@router.post("/send-notification/{email}")
async def send_notification(email: str, log: Annotated[str | None, Depends(get_query)],
                            sender: str = "sync"):
    await enqueue(email, sender, log)
    return SENT_MESSAGE


@router.get("/health")
async def health():
    return {"status": "ok"}


async def invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
    return JSONResponse(error_body(exc), status_code=422)


async def broker_unavailable(request: Request, exc: BrokerUnavailable) -> JSONResponse:
    return JSONResponse(unavailable_body(exc), status_code=503)


app = FastAPI(exception_handlers={InvalidInput: invalid_input, BrokerUnavailable: broker_unavailable})
app.include_router(router)
