"""A notification service written from scratch to shared/SPEC.md, the way a user would.

FastAPI, `BackgroundTasks` injected into the path operation and into a `Depends`
dependency (which registers the log task first), its own validation, log writer, SMTP
senders and event recorder; nothing imported from this project. Run it with
`uvicorn tests.byo.notify_app:app` next to `python -m shared.sink`.

Every step is a module-level function called by its global name, so that a variant in
`tests/byo/wrong/` can replace one of them and break one sentence of the spec.
"""

from __future__ import annotations

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
from typing import Annotated, Any

import aiosmtplib
from email_validator import EmailNotValidError, validate_email
from fastapi import BackgroundTasks, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

ANSWER = {"message": "Notification sent in the background"}
SUBJECT = "Notification"
MESSAGE = "some notification"
SENDERS = ("sync", "async")
MAX_Q = 1000
#: Control characters, and the line and paragraph separators.
CONTROL = frozenset({"Cc", "Zl", "Zp"})
MAX_BACKOFF = 2.0

logger = logging.getLogger("afterward.mailer")


# -- configuration (clause 9) ------------------------------------------------------------

def setting(name: str, default: str) -> str:
    return os.environ.get(f"AFTERWARD_{name}") or default


def smtp_host() -> str:
    return setting("SMTP_HOST", "127.0.0.1")


def smtp_port() -> int:
    return int(setting("SMTP_PORT", "8025"))


def mail_from() -> str:
    return setting("MAIL_FROM", "afterward@localhost")


def smtp_timeout() -> float:
    return float(setting("SMTP_TIMEOUT", "30"))


def smtp_attempts() -> int:
    return max(1, int(setting("SMTP_ATTEMPTS", "4")))


def backoff(failed_attempt: int) -> float:
    """The wait after the `failed_attempt`-th attempt: doubling from the first, capped."""
    first = float(setting("SMTP_BACKOFF", "0.2"))
    return min(first * 2 ** (failed_attempt - 1), MAX_BACKOFF)


def log_path() -> str:
    return setting("LOG_PATH", os.path.join(tempfile.gettempdir(), "afterward.log"))


# -- events (clause 11) ------------------------------------------------------------------

_seq = itertools.count()
_seq_lock = threading.Lock()


def on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def event_fields(event: str, request_id: str) -> dict[str, Any]:
    return {"event": event, "request_id": request_id, "thread_id": threading.get_ident(),
            "thread_name": threading.current_thread().name, "on_loop": on_loop(), "pid": os.getpid(),
            "t": time.monotonic()}


def next_seq() -> int:
    return next(_seq)


def record(event: str, request_id: str, **extra: Any) -> None:
    path = os.environ.get("AFTERWARD_EVENTS")
    if not path:
        return
    line = {**event_fields(event, request_id), **extra}
    with _seq_lock:  # numbered and written together: the file's order is the process's order
        line["seq"] = next_seq()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)


# -- the log task (clause 2) -------------------------------------------------------------

def log_line(q: str) -> str:
    return f"found query: {q}"


def write_log(message: str) -> None:
    with open(log_path(), mode="a", encoding="utf-8") as log:
        log.write(message + "\n")
    record("log_written", message)


# -- the e-mail (clauses 3, 4 and 10) ----------------------------------------------------

def build_message(email: str, message: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = mail_from()
    msg["To"] = email
    msg["Subject"] = SUBJECT
    msg.set_content(message)
    return msg


def is_temporary(error: Exception) -> bool:
    """4xx replies are worth another try, and so is no reply at all; 5xx replies are not."""
    code = getattr(error, "smtp_code", None) or getattr(error, "code", None)
    recipients = getattr(error, "recipients", None)
    if code is None and isinstance(recipients, dict):  # smtplib: {address: (code, text)}
        code = min(c for c, _ in recipients.values())
    elif code is None and recipients:  # aiosmtplib: [SMTPRecipientRefused, ...]
        code = min(r.code for r in recipients)
    if isinstance(code, int) and code >= 100:
        return code < 500
    return True


def mail_failed(email: str, attempt: int, error: Exception, final: bool) -> None:
    if final:
        logger.error("notification to %s failed after %d attempt(s): %r", email, attempt, error)
    record("mail_failed", email, attempt=attempt, error=repr(error), temporary=is_temporary(error),
           final=final)


def send_with_smtplib(msg: EmailMessage) -> None:
    smtp = smtplib.SMTP(smtp_host(), smtp_port(), timeout=smtp_timeout())
    try:
        smtp.send_message(msg)
    finally:  # the message is sent once the server took it: a failed QUIT after it is no failure
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


async def send_with_aiosmtplib(msg: EmailMessage) -> None:
    await aiosmtplib.send(msg, hostname=smtp_host(), port=smtp_port(), timeout=smtp_timeout(),
                          start_tls=False, use_tls=False)


def write_notification(email: str, message: str) -> None:
    """The `def` sender: blocking smtplib, so FastAPI runs it in a worker thread."""
    msg = build_message(email, message)
    attempts = smtp_attempts()
    for attempt in range(1, attempts + 1):
        record("mail_started", email, attempt=attempt)
        try:
            send_with_smtplib(msg)
        except (OSError, smtplib.SMTPException) as error:
            final = attempt == attempts or not is_temporary(error)
            mail_failed(email, attempt, error, final)
            if final:
                return
            time.sleep(backoff(attempt))
        else:
            record("mail_sent", email, attempt=attempt)
            return


async def write_notification_async(email: str, message: str) -> None:
    """The `async def` sender: aiosmtplib, on the event loop."""
    msg = build_message(email, message)
    attempts = smtp_attempts()
    for attempt in range(1, attempts + 1):
        record("mail_started", email, attempt=attempt)
        try:
            await send_with_aiosmtplib(msg)
        except (OSError, TimeoutError, aiosmtplib.SMTPException) as error:
            final = attempt == attempts or not is_temporary(error)
            mail_failed(email, attempt, error, final)
            if final:
                return
            await asyncio.sleep(backoff(attempt))
        else:
            record("mail_sent", email, attempt=attempt)
            return


def pick_sender(sender: str | None) -> Any:
    """`?sender=async` picks the `async def` sender; no `sender`, or `sync`, the `def` one."""
    return write_notification_async if sender == "async" else write_notification


# -- validation (clause 8) ---------------------------------------------------------------

class InvalidInput(Exception):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field} {detail}")
        self.field, self.detail = field, detail


def has_control(text: str) -> bool:
    return any(unicodedata.category(c) in CONTROL for c in text)


def check_email(email: str) -> None:
    if has_control(email):
        raise InvalidInput("email", "contains a control character")
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput("email", str(error)) from None


def check_q(q: str | None) -> None:
    if q is None:
        return
    if has_control(q):
        raise InvalidInput("q", "contains a control character")
    if len(q) > MAX_Q:
        raise InvalidInput("q", f"is longer than {MAX_Q} characters")


def check_sender(sender: str | None) -> None:
    if sender is not None and sender not in SENDERS:
        raise InvalidInput("sender", "must be sync or async")


def check_input(email: str, q: str | None, sender: str | None) -> None:
    check_email(email)
    check_q(q)
    check_sender(sender)


def error_body(error: InvalidInput) -> dict[str, str]:
    return {"error": "invalid_input", "field": error.field, "detail": error.detail}


# -- the app (clauses 1, 5, 6 and 7) -----------------------------------------------------

def get_query(background_tasks: BackgroundTasks, email: str, q: str | None = None,
              sender: str | None = None) -> str | None:
    check_input(email, q, sender)
    if q:
        background_tasks.add_task(write_log, log_line(q))
    return q


app = FastAPI()


@app.exception_handler(InvalidInput)
async def invalid_input(request: Request, error: InvalidInput) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=422)


def answer() -> Response:
    return JSONResponse(ANSWER)


@app.post("/send-notification/{email}")
async def send_notification(email: str, background_tasks: BackgroundTasks,
                            q: Annotated[str | None, Depends(get_query)],
                            sender: str | None = None) -> Response:
    # FastAPI attaches `background_tasks` to the response returned: they run after it is sent.
    background_tasks.add_task(pick_sender(sender), email, message=MESSAGE)
    return answer()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
