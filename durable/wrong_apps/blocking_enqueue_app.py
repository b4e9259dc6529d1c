"""Wrong on purpose: FastAPI's durable app holding the event loop until the broker has the message.

The enqueue (any engine's) runs on a loop of its own, in a thread, and the handler waits for it
with a blocking `.result()`: the server's loop, and every other request, is held for as long as
the broker takes to answer. It is what `.delay()` or `.send()` called on the loop does.
"""

import asyncio
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI

from durable.queue import enqueue
from frameworks import fastapi_durable_app as right
from shared.spec import SENT_MESSAGE

router = APIRouter()
_loop = asyncio.new_event_loop()
threading.Thread(target=_loop.run_forever, daemon=True).start()


@router.post("/send-notification/{email}")
async def send_notification(email: str, log: Annotated[str | None, Depends(right.get_query)],
                            sender: str = "sync"):
    asyncio.run_coroutine_threadsafe(enqueue(email, sender, log), _loop).result()  # the wrong line: blocks
    return SENT_MESSAGE


router.add_api_route("/health", right.health)
app = FastAPI(exception_handlers=right.app.exception_handlers)
app.include_router(router)
