"""Quart: `app.add_background_task`.

Quart starts a background task at once, as a task of its own, rather than after the
response; two tasks would race. So the `before_request` hook collects the log task,
the handler adds the e-mail after it, and one background task runs them in turn.
Quart runs `def` functions in a worker thread (`run_sync`), `async def` on the loop.
"""

from functools import partial

from quart import Blueprint, Quart, current_app, g, request

from shared.logwriter import write_log
from shared.mailer import NOTIFIERS
from shared.spec import NOTIFICATION_MESSAGE, SENT_MESSAGE, log_line
from shared.validation import InvalidInput, check_request, error_body

bp = Blueprint("afterward", __name__)


@bp.before_request
async def get_query() -> None:
    if request.view_args is None or "email" not in request.view_args:
        return
    q = request.args.get("q")
    check_request(request.view_args["email"], q, request.args.get("sender", "sync"))
    g.tasks = [partial(write_log, log_line(q))] if q else []


async def run_in_order(tasks: list[partial]) -> None:
    for task in tasks:
        await current_app.ensure_async(task)()


@bp.post("/send-notification/<email>")
async def send_notification(email: str):
    sender = request.args.get("sender", "sync")
    g.tasks.append(partial(NOTIFIERS[sender], email, message=NOTIFICATION_MESSAGE))
    current_app.add_background_task(run_in_order, g.tasks)
    return SENT_MESSAGE


@bp.get("/health")
async def health():
    return {"status": "ok"}


async def invalid_input(exc: InvalidInput):
    return error_body(exc), 422


app = Quart(__name__)
app.config.from_prefixed_env()  # QUART_BACKGROUND_TASK_SHUTDOWN_TIMEOUT=30, for example
app.register_blueprint(bp)
app.register_error_handler(InvalidInput, invalid_input)
