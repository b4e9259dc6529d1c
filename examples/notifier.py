"""A notification app written from scratch against shared/SPEC.md, as a user of the suite
would write one: its own module, its own dependencies (starlette, aiosmtplib,
email-validator), nothing imported from this project.

    afterward-conformance --app notifier:app

checks it; the README's worked example and tests/test_package.py run exactly that from a
fresh directory outside the checkout.
"""

import os
import smtplib
import tempfile
import unicodedata
from email.message import EmailMessage

import aiosmtplib
from email_validator import EmailNotValidError, validate_email
from starlette.applications import Starlette
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def smtp_server() -> tuple[str, int]:
    env = os.environ.get
    return env("AFTERWARD_SMTP_HOST", "127.0.0.1"), int(env("AFTERWARD_SMTP_PORT", "8025"))


def message(email: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = os.environ.get("AFTERWARD_MAIL_FROM", "notifier@localhost")
    mail["To"] = email
    mail["Subject"] = "Notification"
    mail.set_content("some notification")
    return mail


def write_log(line: str) -> None:
    path = os.environ.get("AFTERWARD_LOG_PATH") or os.path.join(tempfile.gettempdir(), "notifier.log")
    with open(path, "a", encoding="utf-8") as log:
        log.write(line + "\n")


def send_sync(email: str) -> None:
    host, port = smtp_server()
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.send_message(message(email))


async def send_async(email: str) -> None:
    host, port = smtp_server()
    await aiosmtplib.send(message(email), hostname=host, port=port, timeout=30)


SENDERS = {"sync": send_sync, "async": send_async}


def refused(field: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": "invalid_input", "field": field, "detail": detail}, status_code=422)


def has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text)


def problem(email: str, q: str | None, sender: str) -> tuple[str, str] | None:
    if has_control(email):
        return "email", "contains a control character"
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        return "email", str(error)
    if q is not None and has_control(q):
        return "q", "contains a control character"
    if q is not None and len(q) > 1000:
        return "q", "is longer than 1000 characters"
    if sender not in SENDERS:
        return "sender", "must be sync or async"
    return None


async def send_notification(request: Request) -> JSONResponse:
    email = request.path_params["email"]
    q, sender = request.query_params.get("q"), request.query_params.get("sender", "sync")
    wrong = problem(email, q, sender)
    if wrong:
        return refused(*wrong)
    tasks = BackgroundTasks()
    if q:
        tasks.add_task(write_log, f"found query: {q}")
    tasks.add_task(SENDERS[sender], email)
    return JSONResponse({"message": "Notification sent in the background"}, background=tasks)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[
    Route("/send-notification/{email}", send_notification, methods=["POST"]),
    Route("/health", health),
])
