"""Wrong: reports the final failure at WARNING (breaks clause 10: one `ERROR` record)."""

from tests.byo import notify_app as n


def mail_failed(email: str, attempt: int, error: Exception, final: bool) -> None:
    if final:
        n.logger.warning("notification to %s failed after %d attempt(s): %r", email, attempt, error)
    n.record(
        "mail_failed", email, attempt=attempt, error=repr(error), temporary=n.is_temporary(error), final=final
    )


n.mail_failed = mail_failed
app = n.app
