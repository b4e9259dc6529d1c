"""Wrong: marks `final` only when the attempts are used up (breaks clause 10: a 5xx failure is the final
one)."""

from tests.byo import notify_app as n


def mail_failed(email: str, attempt: int, error: Exception, final: bool) -> None:
    if final:
        n.logger.error("notification to %s failed after %d attempt(s): %r", email, attempt, error)
    n.record(
        "mail_failed",
        email,
        attempt=attempt,
        error=repr(error),
        temporary=n.is_temporary(error),
        final=attempt == n.smtp_attempts(),
    )


n.mail_failed = mail_failed
app = n.app
