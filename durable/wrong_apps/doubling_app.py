"""Wrong on purpose: FastAPI's durable app enqueueing each notification twice.

Two messages with two ids (on any engine): each is a notification of its own to the workers, and
the done-marks, which are per task, cannot tell them apart. The e-mail goes out twice.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI

from durable.queue import enqueue
from frameworks import fastapi_durable_app as right
from shared.spec import SENT_MESSAGE

router = APIRouter()


@router.post("/send-notification/{email}")
async def send_notification(email: str, log: Annotated[str | None, Depends(right.get_query)],
                            sender: str = "sync"):
    await enqueue(email, sender, log)
    await enqueue(email, sender, log)  # the wrong line: a second message
    return SENT_MESSAGE


router.add_api_route("/health", right.health)
app = FastAPI(exception_handlers=right.app.exception_handlers)
app.include_router(router)
