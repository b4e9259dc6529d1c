"""Clauses 3-5: the two senders of the notification e-mail, over real SMTP.

`write_notification` is a `def` task built on the standard library's `smtplib`, the
kind of blocking library the article says belongs in a thread. `write_notification_async`
is an `async def` task built on aiosmtplib, which never blocks the event loop.

Both retry temporary failures (4xx replies, refused or dropped connections, time-outs)
with bounded exponential backoff and never retry permanent ones (5xx). Every attempt's
outcome is recorded with the request id, and a final failure is logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from shared.recorder import record
from shared.spec import NOTIFICATION_MESSAGE, NOTIFICATION_SUBJECT

__all__ = [
    "NOTIFIERS",
    "Outcome",
    "SmtpSettings",
    "build_message",
    "write_notification",
    "write_notification_async",
]

logger = logging.getLogger("afterward.mailer")

#: How a sender's attempts ended: the background tasks ignore it; a durable queue's task
#: retries a message whose last failure was temporary.
Outcome = Literal["sent", "temporary", "permanent"]

#: The embedded sink's port (`python -m shared.sink`).
DEFAULT_SMTP_PORT = 8025


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_SMTP_PORT
    sender: str = "afterward@localhost"
    timeout: float = 30.0
    attempts: int = 4
    backoff: float = 0.2
    max_backoff: float = 2.0

    @classmethod
    def from_env(cls) -> SmtpSettings:
        env = os.environ.get
        return cls(
            host=env("AFTERWARD_SMTP_HOST") or cls.host,
            port=int(env("AFTERWARD_SMTP_PORT") or cls.port),
            sender=env("AFTERWARD_MAIL_FROM") or cls.sender,
            timeout=float(env("AFTERWARD_SMTP_TIMEOUT") or cls.timeout),
            attempts=max(1, int(env("AFTERWARD_SMTP_ATTEMPTS") or cls.attempts)),
            backoff=float(env("AFTERWARD_SMTP_BACKOFF") or cls.backoff),
        )

    def delays(self) -> Iterator[float]:
        """The waits between attempts: doubling, capped, `attempts - 1` of them."""
        for n in range(self.attempts - 1):
            yield min(self.backoff * 2**n, self.max_backoff)


def build_message(email: str, message: str, sender: str) -> EmailMessage:
    # EmailMessage refuses CR/LF in header values: a second guard behind clause 8.
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = email
    msg["Subject"] = NOTIFICATION_SUBJECT
    msg.set_content(message)
    return msg


def _is_temporary(error: Exception) -> bool:
    code = getattr(error, "smtp_code", None)  # smtplib
    if code is None and isinstance(error, aiosmtplib.SMTPResponseException):
        code = error.code
    if code is None and isinstance(error, smtplib.SMTPRecipientsRefused):
        code = min(c for c, _ in error.recipients.values())
    if code is None and isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        code = min(r.code for r in error.recipients)
    if isinstance(code, int) and code >= 100:
        return 400 <= code < 500
    return True  # no reply code: refused, dropped or timed out, worth another try


def _failed(email: str, sender: str, attempt: int, error: Exception, final: bool) -> None:
    temporary = _is_temporary(error)
    if final:  # logged before the event, so whoever sees the event finds the log line
        logger.error("notification to %s failed after %d attempt(s): %r", email, attempt, error)
    record(
        "mail_failed",
        email,
        sender=sender,
        attempt=attempt,
        error=repr(error),
        temporary=temporary,
        final=final,
    )


def _send(settings: SmtpSettings, msg: EmailMessage) -> None:
    """One attempt over smtplib. Once the server has answered the message `250`, the e-mail is
    sent: what comes of `QUIT` after it is no failure (smtplib's `with` raises when `QUIT` is
    answered other than `221`, and a retry would then send the e-mail twice)."""
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.send_message(msg)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def write_notification(email: str, message: str = NOTIFICATION_MESSAGE) -> Outcome:
    """The `def` sender: blocking smtplib, for a worker thread."""
    settings = SmtpSettings.from_env()
    msg = build_message(email, message, settings.sender)
    delays = settings.delays()
    for attempt in range(1, settings.attempts + 1):
        record("mail_started", email, sender="sync", attempt=attempt)
        try:
            _send(settings, msg)
        except (OSError, smtplib.SMTPException) as error:
            delay = next(delays, None) if _is_temporary(error) else None
            _failed(email, "sync", attempt, error, final=delay is None)
            if delay is None:
                return "temporary" if _is_temporary(error) else "permanent"
            time.sleep(delay)
        else:
            record("mail_sent", email, sender="sync", attempt=attempt)
            return "sent"
    raise AssertionError("unreachable: the last attempt returns")


async def write_notification_async(email: str, message: str = NOTIFICATION_MESSAGE) -> Outcome:
    """The `async def` sender: aiosmtplib, on the event loop."""
    settings = SmtpSettings.from_env()
    msg = build_message(email, message, settings.sender)
    delays = settings.delays()
    for attempt in range(1, settings.attempts + 1):
        record("mail_started", email, sender="async", attempt=attempt)
        try:
            await aiosmtplib.send(
                msg,
                hostname=settings.host,
                port=settings.port,
                timeout=settings.timeout,
                start_tls=False,
                use_tls=False,
            )
        except (OSError, aiosmtplib.SMTPException) as error:
            delay = next(delays, None) if _is_temporary(error) else None
            _failed(email, "async", attempt, error, final=delay is None)
            if delay is None:
                return "temporary" if _is_temporary(error) else "permanent"
            await asyncio.sleep(delay)
        else:
            record("mail_sent", email, sender="async", attempt=attempt)
            return "sent"
    raise AssertionError("unreachable: the last attempt returns")


#: Clause 4: the sender each `?sender=` value picks.
NOTIFIERS = {"sync": write_notification, "async": write_notification_async}
