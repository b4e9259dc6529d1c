"""Wrong on purpose: FastAPI's durable app answering before the broker has the message.

It starts the enqueue as a task of its own and answers at once, without waiting for it (on any
engine): the loop is never blocked, but a `200` can reach the client for a message Redis never
took (clause 12).
"""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI

from durable.queue import enqueue
from frameworks import fastapi_durable_app as right
from shared.spec import SENT_MESSAGE

router = APIRouter()
_started: set[asyncio.Task[None]] = set()


@router.post("/send-notification/{email}")
async def send_notification(email: str, log: Annotated[str | None, Depends(right.get_query)],
                            sender: str = "sync"):
    task = asyncio.create_task(enqueue(email, sender, log))  # the wrong line: not awaited
    _started.add(task)
    task.add_done_callback(_started.discard)
    return SENT_MESSAGE


router.add_api_route("/health", right.health)
app = FastAPI(exception_handlers=right.app.exception_handlers)
app.include_router(router)
