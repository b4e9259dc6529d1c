"""Wrong: refuses only CR and LF in `q`, not the other control characters (TAB, NUL, ...)
nor the line and paragraph separators (breaks clause 8; reliability/test_fuzz.py).

Its own validation, as a hand-written app would have: the fuzz test's oracle, not
agreement with the other apps, is what catches it.
"""

from starlette.applications import Starlette
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from frameworks.starlette_app import NOTIFIERS, health, invalid_input
from shared.logwriter import write_log
from shared.spec import NOTIFICATION_MESSAGE, SENT_MESSAGE, log_line
from shared.validation import InvalidInput, check_request

DECLARED_AS = "starlette"


async def send_notification(request: Request) -> JSONResponse:
    email, q = request.path_params["email"], request.query_params.get("q")
    sender = request.query_params.get("sender", "sync")
    check_request(email, None, sender)
    if q is not None and ("\r" in q or "\n" in q):  # the mistake: clause 8 says every control character
        raise InvalidInput("q", "contains a line break")
    if q is not None and len(q) > 1000:
        raise InvalidInput("q", "is too long")
    background_tasks = BackgroundTasks()
    if q:
        background_tasks.add_task(write_log, log_line(q))
    background_tasks.add_task(NOTIFIERS[sender], email, message=NOTIFICATION_MESSAGE)
    return JSONResponse(SENT_MESSAGE, background=background_tasks)


app = Starlette(routes=[Route("/send-notification/{email}", send_notification, methods=["POST"]),
                        Route("/health", health)], exception_handlers={InvalidInput: invalid_input})
