"""Wrong: sends from a task of its own (`asyncio.create_task`), outside the request, so no
server waits for it at shutdown: SIGTERM under uvicorn, which would have waited for a
background task without limit, cancels the `async def` sends instead (breaks what
`sigterm_default_grace_seconds` declares for Starlette; reliability/test_shutdown.py).
"""

import asyncio

from starlette.applications import Starlette
from starlette.background import BackgroundTasks
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from frameworks.starlette_app import NOTIFIERS, get_query, health, invalid_input
from shared.spec import NOTIFICATION_MESSAGE, SENT_MESSAGE
from shared.validation import InvalidInput

DECLARED_AS = "starlette"
_running: set[asyncio.Task] = set()


async def send_notification(request: Request) -> JSONResponse:
    background_tasks = BackgroundTasks()
    get_query(request, background_tasks)
    email, sender = request.path_params["email"], request.query_params.get("sender", "sync")
    notify = NOTIFIERS[sender]
    send = notify(email, message=NOTIFICATION_MESSAGE) if sender == "async" else \
        run_in_threadpool(notify, email, message=NOTIFICATION_MESSAGE)
    task = asyncio.create_task(send)  # the mistake: nobody awaits it
    _running.add(task)
    task.add_done_callback(_running.discard)
    return JSONResponse(SENT_MESSAGE, background=background_tasks)


app = Starlette(routes=[Route("/send-notification/{email}", send_notification, methods=["POST"]),
                        Route("/health", health)], exception_handlers={InvalidInput: invalid_input})
