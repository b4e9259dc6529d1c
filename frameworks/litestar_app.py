"""Litestar: its own `BackgroundTasks` attached to the returned `Response`.

The log task comes from a Litestar dependency (`Provide`), resolved before the handler.
Litestar runs the tasks after the response is sent, one after another unless
`run_in_task_group=True`: `def` tasks in a worker thread, `async def` tasks on the loop.
"""

from litestar import Litestar, Request, Response, get, post
from litestar.background_tasks import BackgroundTask, BackgroundTasks
from litestar.di import Provide

from shared.logwriter import write_log
from shared.mailer import NOTIFIERS
from shared.spec import NOTIFICATION_MESSAGE, SENT_MESSAGE, log_line
from shared.validation import InvalidInput, check_request, error_body


def get_query(email: str, q: str | None = None, sender: str = "sync") -> BackgroundTask | None:
    check_request(email, q, sender)
    if q:
        return BackgroundTask(write_log, log_line(q))
    return None


@post("/send-notification/{email:str}", dependencies={"log_task": Provide(get_query, sync_to_thread=False)})
async def send_notification(email: str, log_task: BackgroundTask | None,
                            sender: str = "sync") -> Response[dict[str, str]]:
    tasks = [log_task] if log_task else []
    tasks.append(BackgroundTask(NOTIFIERS[sender], email, message=NOTIFICATION_MESSAGE))
    return Response(SENT_MESSAGE, status_code=200, background=BackgroundTasks(tasks))


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def invalid_input(request: Request, exc: InvalidInput) -> Response[dict[str, str]]:
    return Response(error_body(exc), status_code=422)


app = Litestar(route_handlers=[send_notification, health], exception_handlers={InvalidInput: invalid_input})
