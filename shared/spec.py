"""The spec's constants, in code. Clause numbers refer to `shared/SPEC.md`."""

from __future__ import annotations

__all__ = [
    "HEALTH_PATH",
    "INVALID_INPUT",
    "MAX_QUERY_LENGTH",
    "NOTIFICATION_MESSAGE",
    "NOTIFICATION_PATH",
    "NOTIFICATION_SUBJECT",
    "SENDERS",
    "SENT_MESSAGE",
    "log_line",
]

#: Clause 1: the route, with the address as its one path parameter.
NOTIFICATION_PATH = "/send-notification/{email}"
#: Clause 7: readiness.
HEALTH_PATH = "/health"
#: Clause 1: the body of every accepted request.
SENT_MESSAGE = {"message": "Notification sent in the background"}
#: Clause 3: what the e-mail says.
NOTIFICATION_MESSAGE = "some notification"
NOTIFICATION_SUBJECT = "Notification"
#: Clause 4: the two senders, chosen with `?sender=`; the first is the default.
SENDERS = ("sync", "async")
#: Clause 8: the longest `q` accepted.
MAX_QUERY_LENGTH = 1000
#: Clause 8: the `error` member of every 422 body.
INVALID_INPUT = "invalid_input"


def log_line(q: str) -> str:
    """Clause 2: the log entry written for a request that carries `q`."""
    return f"found query: {q}"
