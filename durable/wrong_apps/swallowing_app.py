"""Wrong on purpose: FastAPI's durable app answering 200 when nothing could be queued.

The error from an unreachable broker is caught and dropped: the client is told its
notification is on its way, and it never will be.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI

from durable.queue import BrokerUnavailable, enqueue
from frameworks import fastapi_durable_app as right
from shared.spec import SENT_MESSAGE

router = APIRouter()


@router.post("/send-notification/{email}")
async def send_notification(email: str, log: Annotated[str | None, Depends(right.get_query)],
                            sender: str = "sync"):
    try:
        await enqueue(email, sender, log)
    except BrokerUnavailable:  # the wrong lines: the failure is swallowed
        pass
    return SENT_MESSAGE


router.add_api_route("/health", right.health)
app = FastAPI(exception_handlers=right.app.exception_handlers)
app.include_router(router)
