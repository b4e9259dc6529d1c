"""Quart, durable: the notification goes to a queue on Redis instead of `add_background_task`.

The `before_request` hook still checks the request first and keeps the log line; the
handler enqueues one task (the log line, then the e-mail) that a worker process runs, on
the engine `AFTERWARD_ENGINE` names (durable/queue.py). A broker that cannot be reached is
answered 503, with nothing queued.
"""

from quart import Blueprint, Quart, g, request

from durable.queue import BrokerUnavailable, enqueue, unavailable_body
from shared.spec import SENT_MESSAGE, log_line
from shared.validation import InvalidInput, check_request, error_body

bp = Blueprint("afterward", __name__)


@bp.before_request
async def get_query() -> None:
    if request.view_args is None or "email" not in request.view_args:
        return
    q = request.args.get("q")
    check_request(request.view_args["email"], q, request.args.get("sender", "sync"))
    g.log = log_line(q) if q else None


@bp.post("/send-notification/<email>")
async def send_notification(email: str):
    sender = request.args.get("sender", "sync")
    await enqueue(email, sender, g.log)
    return SENT_MESSAGE


@bp.get("/health")
async def health():
    return {"status": "ok"}


async def invalid_input(exc: InvalidInput):
    return error_body(exc), 422


async def broker_unavailable(exc: BrokerUnavailable):
    return unavailable_body(exc), 503


app = Quart(__name__)
app.register_blueprint(bp)
app.register_error_handler(InvalidInput, invalid_input)
app.register_error_handler(BrokerUnavailable, broker_unavailable)
