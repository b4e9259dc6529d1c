"""Wrong: every 25th notification goes to the previous request's address instead (breaks clause 3).

As many e-mails as requests arrive: a count of deliveries cannot see the loss, only a
check by address can (the load check, reliability/test_load.py).
"""

from itertools import count

from starlette.applications import Starlette
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from frameworks.starlette_app import NOTIFIERS, get_query, health, invalid_input
from shared.spec import NOTIFICATION_MESSAGE, SENT_MESSAGE
from shared.validation import InvalidInput

DECLARED_AS = "starlette"
_requests = count(1)
_previous = ""


async def send_notification(request: Request) -> JSONResponse:
    global _previous
    background_tasks = BackgroundTasks()
    get_query(request, background_tasks)
    email, sender = request.path_params["email"], request.query_params.get("sender", "sync")
    to = _previous if next(_requests) % 25 == 0 and _previous else email  # the mistake
    _previous = email
    background_tasks.add_task(NOTIFIERS[sender], to, message=NOTIFICATION_MESSAGE)
    return JSONResponse(SENT_MESSAGE, background=background_tasks)


app = Starlette(routes=[Route("/send-notification/{email}", send_notification, methods=["POST"]),
                        Route("/health", health)], exception_handlers={InvalidInput: invalid_input})
