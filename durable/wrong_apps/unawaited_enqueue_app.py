"""Wrong on purpose: FastAPI's durable app answering before the broker has the message.

It starts `.delay()` in a thread and answers at once, without waiting for it: the loop is
never blocked, but a `200` can reach the client for a message Redis never took (clause 12).
"""

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI

from durable.tasks import notify
from frameworks import fastapi_durable_app as right
from shared.spec import SENT_MESSAGE

router = APIRouter()


@router.post("/send-notification/{email}")
async def send_notification(email: str, log: Annotated[str | None, Depends(right.get_query)],
                            sender: str = "sync"):
    threading.Thread(target=notify.delay, args=(email, sender, log)).start()  # the wrong line: not awaited
    return SENT_MESSAGE


router.add_api_route("/health", right.health)
app = FastAPI(exception_handlers=right.app.exception_handlers)
app.include_router(router)
