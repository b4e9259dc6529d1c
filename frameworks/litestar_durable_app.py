"""Litestar, durable: the notification goes to a queue on Redis instead of `BackgroundTasks`.

The dependency (`Provide`) still checks the request first and gives the log line; the
handler enqueues one task (the log line, then the e-mail) that a worker process runs, on
the engine `AFTERWARD_ENGINE` names (durable/queue.py). A broker that cannot be reached is
answered 503, with nothing queued.
"""

from litestar import Litestar, Request, Response, get, post
from litestar.di import Provide

from durable.queue import BrokerUnavailable, enqueue, unavailable_body
from shared.spec import SENT_MESSAGE, log_line
from shared.validation import InvalidInput, check_request, error_body


def get_query(email: str, q: str | None = None, sender: str = "sync") -> str | None:
    check_request(email, q, sender)
    return log_line(q) if q else None


@post("/send-notification/{email:str}", dependencies={"log": Provide(get_query, sync_to_thread=False)})
async def send_notification(email: str, log: str | None, sender: str = "sync") -> Response[dict[str, str]]:
    await enqueue(email, sender, log)
    return Response(SENT_MESSAGE, status_code=200)


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def invalid_input(request: Request, exc: InvalidInput) -> Response[dict[str, str]]:
    return Response(error_body(exc), status_code=422)


def broker_unavailable(request: Request, exc: BrokerUnavailable) -> Response[dict[str, str]]:
    return Response(unavailable_body(exc), status_code=503)


app = Litestar(route_handlers=[send_notification, health],
               exception_handlers={InvalidInput: invalid_input, BrokerUnavailable: broker_unavailable})
