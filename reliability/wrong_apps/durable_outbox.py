"""Not wrong, different: a durable outbox. Each notification is written to a file before
the answer and marked done once sent; at startup, whatever is not done is sent first. It
survives SIGKILL, so the SIGKILL check, which declares in-process semantics (everything
in flight lost), must report the difference (reliability/test_shutdown.py).
"""

import json
import os
from contextlib import asynccontextmanager
from pathlib import Path

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
OUTBOX = Path(os.environ.get("AFTERWARD_LOG_PATH", "afterward.log") + ".outbox")


def _append(entry: dict) -> None:
    with OUTBOX.open("a") as f:  # one line per write, flushed on close; good enough for a test app
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


async def deliver(email: str, sender: str) -> None:
    notify = NOTIFIERS[sender]
    if sender == "async":
        await notify(email, message=NOTIFICATION_MESSAGE)
    else:
        await run_in_threadpool(notify, email, message=NOTIFICATION_MESSAGE)
    _append({"done": email})


@asynccontextmanager
async def lifespan(app: Starlette):
    lines = [json.loads(line) for line in OUTBOX.read_text().splitlines()] if OUTBOX.exists() else []
    done = {e["done"] for e in lines if "done" in e}
    for entry in lines:
        if "email" in entry and entry["email"] not in done:
            await deliver(entry["email"], entry["sender"])  # before serving: the backlog first
    yield


async def send_notification(request: Request) -> JSONResponse:
    background_tasks = BackgroundTasks()
    get_query(request, background_tasks)
    email, sender = request.path_params["email"], request.query_params.get("sender", "sync")
    _append({"email": email, "sender": sender})  # committed before the answer
    background_tasks.add_task(deliver, email, sender)
    return JSONResponse(SENT_MESSAGE, background=background_tasks)


app = Starlette(routes=[Route("/send-notification/{email}", send_notification, methods=["POST"]),
                        Route("/health", health)], exception_handlers={InvalidInput: invalid_input},
                lifespan=lifespan)
