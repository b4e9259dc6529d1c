"""Wrong: records `temporary` as `will be retried` (breaks clause 10: `temporary` says the kind of failure,
also on the last attempt)."""

from tests.byo import notify_app as n


def mail_failed(email: str, attempt: int, error: Exception, final: bool) -> None:
    if final:
        n.logger.error("notification to %s failed after %d attempt(s): %r", email, attempt, error)
    n.record("mail_failed", email, attempt=attempt, error=repr(error), temporary=not final, final=final)


n.mail_failed = mail_failed
app = n.app
