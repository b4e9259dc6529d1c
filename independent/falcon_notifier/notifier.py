"""Falcon (ASGI): the notification spec written from shared/SPEC.md alone, with Falcon's own idioms.

Run: `uvicorn notifier:app` from this folder (or `independent.falcon_notifier.notifier:app`
from the repository root). It imports nothing of this project.

- The request's checks and its log task live in a `falcon.before` hook, Falcon's mechanism
  that runs before the responder (clauses 2 and 8): the hook registers the log task, the
  responder registers the e-mail.
- `resp.schedule_sync` and `resp.schedule` are Falcon's work after the response: Falcon
  calls them once the response's last byte is sent, a `def` callback on the loop's default
  executor (a worker thread), an `async def` one as a task on the loop (clauses 5 and 6).
  Falcon starts all of a response's callbacks at once, not one after another as Starlette
  does, so the e-mail waits on the log task's future (clause 2: the log line is written
  before the e-mail reaches the SMTP server).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import smtplib
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from functools import partial
from typing import Any

import aiosmtplib
import falcon
import falcon.asgi
from email_validator import EmailNotValidError, validate_email

__all__ = ["app"]

SENT = {"message": "Notification sent in the background"}
NOTIFICATION = "some notification"
SUBJECT = "Notification"
MAX_QUERY = 1000
SENDERS = ("sync", "async")
logger = logging.getLogger("afterward.mailer")


# Configuration (clause 9), read when it is used, so that each send sees the process's environment.
@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    mail_from: str
    timeout: float
    attempts: int
    backoff: float


def settings() -> Settings:
    env = os.environ.get
    return Settings(host=env("AFTERWARD_SMTP_HOST", "127.0.0.1"),
                    port=int(env("AFTERWARD_SMTP_PORT", "8025")),
                    mail_from=env("AFTERWARD_MAIL_FROM", "afterward@localhost"),
                    timeout=float(env("AFTERWARD_SMTP_TIMEOUT", "30")),
                    attempts=int(env("AFTERWARD_SMTP_ATTEMPTS", "4")),
                    backoff=float(env("AFTERWARD_SMTP_BACKOFF", "0.2")))


def log_path() -> str:
    return os.environ.get("AFTERWARD_LOG_PATH") or os.path.join(tempfile.gettempdir(), "afterward.log")


# Events (clause 11): one JSON line each, numbered under one lock so that seq follows the file.
_events_lock = threading.Lock()
_seq = 0


def record(event: str, request_id: str, **fields: Any) -> None:
    global _seq
    path = os.environ.get("AFTERWARD_EVENTS")
    if not path:
        return
    try:
        asyncio.get_running_loop()
        on_loop = True
    except RuntimeError:
        on_loop = False
    thread = threading.current_thread()
    with _events_lock:
        _seq += 1
        line = {"event": event, "request_id": request_id, "thread_id": threading.get_ident(),
                "thread_name": thread.name, "on_loop": on_loop, "pid": os.getpid(),
                "t": time.monotonic(), "seq": _seq, **fields}
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")


# The log task (clause 2).
def write_log(line: str) -> None:
    with open(log_path(), "a", encoding="utf-8") as out:
        out.write(line + "\n")
    record("log_written", line)


# The two senders (clauses 3, 4 and 10): one message, a round of attempts with backoff.
def message(email: str, config: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = config.mail_from
    msg["To"] = email
    msg["Subject"] = SUBJECT
    msg.set_content(NOTIFICATION)
    return msg


def reply_code(exc: BaseException) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return next(iter(exc.recipients.values()))[0]
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return exc.recipients[0].code
    smtp_error = isinstance(exc, smtplib.SMTPException)
    code = getattr(exc, "smtp_code", None) if smtp_error else getattr(exc, "code", None)
    return code if isinstance(code, int) and code > 0 else None


def is_temporary(exc: BaseException) -> bool:
    """4xx replies, refused or dropped connections and time-outs are worth another attempt."""
    code = reply_code(exc)
    if code is not None:
        return 400 <= code < 500
    if isinstance(exc, (smtplib.SMTPServerDisconnected, aiosmtplib.SMTPServerDisconnected,
                        aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPConnectError)):
        return True
    if isinstance(exc, (smtplib.SMTPException, aiosmtplib.SMTPException)):
        return False
    return isinstance(exc, (OSError, TimeoutError))


def backoff(config: Settings, attempt: int) -> float:
    return min(config.backoff * 2 ** (attempt - 1), 2.0)


def failed(email: str, attempt: int, exc: BaseException, config: Settings) -> bool:
    """Record a failed attempt; True when it was the last one."""
    temporary = is_temporary(exc)
    final = not temporary or attempt >= config.attempts
    error = f"{type(exc).__name__}: {exc}"
    record("mail_failed", email, attempt=attempt, error=error, temporary=temporary, final=final)
    if final:
        logger.error("notification to %s failed after %d attempt(s): %s", email, attempt, error)
    return final


def send_sync(email: str) -> None:
    """The `def` sender, on smtplib."""
    config = settings()
    for attempt in range(1, config.attempts + 1):
        record("mail_started", email, attempt=attempt)
        smtp = None
        try:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            smtp.send_message(message(email, config), from_addr=config.mail_from, to_addrs=[email])
        except Exception as exc:
            if smtp is not None:
                smtp.close()
            if failed(email, attempt, exc, config):
                return
            time.sleep(backoff(config, attempt))
            continue
        record("mail_sent", email, attempt=attempt)
        try:  # the message is accepted: a failed goodbye is no failed e-mail
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
        return


async def send_async(email: str) -> None:
    """The `async def` sender, on aiosmtplib."""
    config = settings()
    for attempt in range(1, config.attempts + 1):
        record("mail_started", email, attempt=attempt)
        smtp = aiosmtplib.SMTP(hostname=config.host, port=config.port, timeout=config.timeout,
                               start_tls=False)
        try:
            await smtp.connect()
            await smtp.send_message(message(email, config), sender=config.mail_from, recipients=[email])
        except Exception as exc:
            smtp.close()
            if failed(email, attempt, exc, config):
                return
            await asyncio.sleep(backoff(config, attempt))
            continue
        record("mail_sent", email, attempt=attempt)
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()
        return


# Bad input (clause 8).
class InvalidInput(Exception):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field, self.detail = field, detail


def has_control(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" or c in "\u2028\u2029" for c in text)


def check(email: str, q: str | None, sender: str) -> None:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput("email", str(exc)) from None
    if has_control(email):
        raise InvalidInput("email", "the address contains a control character")
    if q is not None and has_control(q):
        raise InvalidInput("q", "q contains a control character")
    if q is not None and len(q) > MAX_QUERY:
        raise InvalidInput("q", f"q is longer than {MAX_QUERY} characters")
    if sender not in SENDERS:
        raise InvalidInput("sender", "sender must be 'sync' or 'async'")


async def invalid_input(req: falcon.asgi.Request, resp: falcon.asgi.Response, exc: InvalidInput,
                        params: dict[str, Any]) -> None:
    resp.status = 422
    resp.media = {"error": "invalid_input", "field": exc.field, "detail": exc.detail}


# Handlers, in the spec's order.
async def checked_with_log(req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: Any,
                           params: dict[str, Any]) -> None:
    """Before the responder: check the request, then register the log task."""
    q = req.get_param("q")
    check(params["email"], q, req.get_param("sender", default="sync"))
    logged: concurrent.futures.Future[None] = concurrent.futures.Future()
    req.context.logged = logged
    if q:
        resp.schedule_sync(partial(log_then_release, f"found query: {q}", logged))
    else:
        logged.set_result(None)


def log_then_release(line: str, logged: concurrent.futures.Future[None]) -> None:
    try:
        write_log(line)
    finally:
        logged.set_result(None)


def after_log_sync(logged: concurrent.futures.Future[None], email: str) -> None:
    logged.result()
    send_sync(email)


async def after_log_async(logged: concurrent.futures.Future[None], email: str) -> None:
    await asyncio.wrap_future(logged)
    await send_async(email)


class Notification:
    @falcon.before(checked_with_log)
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, email: str) -> None:
        if req.get_param("sender", default="sync") == "sync":
            resp.schedule_sync(partial(after_log_sync, req.context.logged, email))
        else:
            resp.schedule(partial(after_log_async, req.context.logged, email))
        resp.media = SENT


class Health:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"status": "ok"}


app = falcon.asgi.App()
app.req_options.keep_blank_qs_values = True  # `?q=` is given and empty: no log line; `?sender=` is refused
app.add_error_handler(InvalidInput, invalid_input)
app.add_route("/send-notification/{email}", Notification())
app.add_route("/health", Health())
