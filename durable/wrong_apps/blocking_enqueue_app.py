"""Wrong on purpose: FastAPI's durable app calling `.delay()` on the event loop.

`.delay()` waits on Redis with a blocking socket; called from an `async def` handler it
holds the loop, and every other request, for as long as the broker takes to answer.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI

from durable.tasks import notify
from frameworks import fastapi_durable_app as right
from shared.spec import SENT_MESSAGE

router = APIRouter()


@router.post("/send-notification/{email}")
async def send_notification(email: str, log: Annotated[str | None, Depends(right.get_query)],
                            sender: str = "sync"):
    notify.delay(email, sender, log)  # the wrong line: blocking I/O on the loop
    return SENT_MESSAGE


router.add_api_route("/health", right.health)
app = FastAPI(exception_handlers=right.app.exception_handlers)
app.include_router(router)
