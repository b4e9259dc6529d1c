"""Wrong: logs failures but records no event (breaks clause 10: a `mail_failed` event per failed attempt)."""

from tests.byo import notify_app as n


def mail_failed(email: str, attempt: int, error: Exception, final: bool) -> None:
    if final:
        n.logger.error("notification to %s failed after %d attempt(s): %r", email, attempt, error)


n.mail_failed = mail_failed
app = n.app
