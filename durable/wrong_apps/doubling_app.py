"""Wrong on purpose: FastAPI's durable app enqueueing each notification twice.

Two messages with two task ids: each is a notification of its own to the workers, and
the done-marks, which are per task, cannot tell them apart. The e-mail goes out twice.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI
from fastapi.concurrency import run_in_threadpool

from durable.tasks import notify
from frameworks import fastapi_durable_app as right
from shared.spec import SENT_MESSAGE

router = APIRouter()


@router.post("/send-notification/{email}")
async def send_notification(email: str, log: Annotated[str | None, Depends(right.get_query)],
                            sender: str = "sync"):
    await run_in_threadpool(notify.delay, email, sender, log)
    await run_in_threadpool(notify.delay, email, sender, log)  # the wrong line: a second message
    return SENT_MESSAGE


router.add_api_route("/health", right.health)
app = FastAPI(exception_handlers=right.app.exception_handlers)
app.include_router(router)
