"""Wrong: sends the notification twice (breaks clause 3)."""

from starlette.applications import Starlette
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from frameworks.starlette_app import NOTIFIERS, get_query, health, invalid_input
from shared.spec import NOTIFICATION_MESSAGE, SENT_MESSAGE
from shared.validation import InvalidInput


async def send_notification(request: Request) -> JSONResponse:
    background_tasks = BackgroundTasks()
    get_query(request, background_tasks)
    email, sender = request.path_params["email"], request.query_params.get("sender", "sync")
    background_tasks.add_task(NOTIFIERS[sender], email, message=NOTIFICATION_MESSAGE)
    background_tasks.add_task(NOTIFIERS[sender], email, message=NOTIFICATION_MESSAGE)  # the mistake
    return JSONResponse(SENT_MESSAGE, background=background_tasks)


app = Starlette(
    routes=[
        Route("/send-notification/{email}", send_notification, methods=["POST"]),
        Route("/health", health),
    ],
    exception_handlers={InvalidInput: invalid_input},
)
