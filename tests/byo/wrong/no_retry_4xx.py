"""Wrong: retries only when there was no reply (breaks clause 10: 4xx replies are retried)."""

from tests.byo import notify_app as n


def is_temporary(error: Exception) -> bool:
    return getattr(error, "smtp_code", None) is None and getattr(error, "code", None) is None


n.is_temporary = is_temporary
app = n.app
