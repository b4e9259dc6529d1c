"""A notification app written from scratch against shared/SPEC.md, as a user of the suite
would write one: its own module, its own dependencies (starlette, aiosmtplib,
email-validator), nothing imported from this project; clauses 1 to 11 in one file.

    afterward-conformance --app notifier:app

checks it; the README's worked example and tests/test_package.py run exactly that from a
fresh directory outside the checkout.
"""

import asyncio
import itertools
import json
import logging
import os
import smtplib
import tempfile
import threading
import time
import unicodedata
from email.message import EmailMessage

import aiosmtplib
from email_validator import EmailNotValidError, validate_email
from starlette.applications import Starlette
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

logger = logging.getLogger("afterward.mailer")
seq, seq_lock = itertools.count(), threading.Lock()


def setting(name: str, default: str) -> str:
    return os.environ.get(f"AFTERWARD_{name}") or default


def record(event: str, request_id: str, **extra: object) -> None:
    """Clause 11: one JSON line per event, when AFTERWARD_EVENTS names a file."""
    path = os.environ.get("AFTERWARD_EVENTS")
    if not path:
        return
    try:
        on_loop = asyncio.get_running_loop() is not None
    except RuntimeError:
        on_loop = False
    with seq_lock:
        line = {"event": event, "request_id": request_id, "thread_id": threading.get_ident(),
                "thread_name": threading.current_thread().name, "on_loop": on_loop, "pid": os.getpid(),
                "t": time.monotonic(), "seq": next(seq), **extra}
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)


def message(email: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = setting("MAIL_FROM", "afterward@localhost")
    mail["To"] = email
    mail["Subject"] = "Notification"
    mail.set_content("some notification")
    return mail


def write_log(line: str) -> None:
    path = setting("LOG_PATH", os.path.join(tempfile.gettempdir(), "afterward.log"))
    with open(path, "a", encoding="utf-8") as log:
        log.write(line + "\n")
    record("log_written", line)


def temporary(error: Exception) -> bool:
    """4xx replies, and failures without a reply (refused, dropped, timed out), are worth a retry."""
    code = getattr(error, "smtp_code", None) or getattr(error, "code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code = min(c for c, _ in error.recipients.values())
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        code = min(r.code for r in error.recipients)
    return not (isinstance(code, int) and code >= 500)


def smtp_server() -> tuple[str, int, float]:
    port, timeout = int(setting("SMTP_PORT", "8025")), float(setting("SMTP_TIMEOUT", "30"))
    return setting("SMTP_HOST", "127.0.0.1"), port, timeout


def waits() -> list[float]:
    attempts, first = max(1, int(setting("SMTP_ATTEMPTS", "4"))), float(setting("SMTP_BACKOFF", "0.2"))
    return [min(first * 2**n, 2.0) for n in range(attempts - 1)]


def failed(email: str, attempt: int, error: Exception, final: bool) -> None:
    if final:
        logger.error("notification to %s failed after %d attempt(s): %r", email, attempt, error)
    record("mail_failed", email, attempt=attempt, error=repr(error), temporary=temporary(error), final=final)


def deliver(host: str, port: int, timeout: float, msg: EmailMessage) -> None:
    smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        smtp.send_message(msg)
    finally:  # the message is sent once the server took it: a failed QUIT after it is no failure
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def send_sync(email: str) -> None:
    host, port, timeout = smtp_server()
    backoff = waits()
    for attempt in range(1, len(backoff) + 2):
        record("mail_started", email, attempt=attempt)
        try:
            deliver(host, port, timeout, message(email))
        except (OSError, smtplib.SMTPException) as error:
            last = attempt > len(backoff) or not temporary(error)
            failed(email, attempt, error, final=last)
            if last:
                return
            time.sleep(backoff[attempt - 1])
        else:
            record("mail_sent", email, attempt=attempt)
            return


async def send_async(email: str) -> None:
    host, port, timeout = smtp_server()
    backoff = waits()
    for attempt in range(1, len(backoff) + 2):
        record("mail_started", email, attempt=attempt)
        try:
            await aiosmtplib.send(message(email), hostname=host, port=port, timeout=timeout, start_tls=False)
        except (OSError, aiosmtplib.SMTPException) as error:
            last = attempt > len(backoff) or not temporary(error)
            failed(email, attempt, error, final=last)
            if last:
                return
            await asyncio.sleep(backoff[attempt - 1])
        else:
            record("mail_sent", email, attempt=attempt)
            return


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
