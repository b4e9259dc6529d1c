"""Wrong: logs an ERROR for every failed attempt (breaks clause 10: one, for the final one)."""

from tests.byo import notify_app as n


def mail_failed(email: str, attempt: int, error: Exception, final: bool) -> None:
    n.logger.error("notification to %s failed (attempt %d): %r", email, attempt, error)
    n.record(
        "mail_failed", email, attempt=attempt, error=repr(error), temporary=n.is_temporary(error), final=final
    )


n.mail_failed = mail_failed
app = n.app
