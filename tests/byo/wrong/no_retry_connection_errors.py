"""Wrong: retries 4xx replies only: a refused or dropped connection is final (breaks clause 10: refused and
dropped connections are retried)."""

from tests.byo import notify_app as n


def is_temporary(error: Exception) -> bool:
    code = getattr(error, "smtp_code", None) or getattr(error, "code", None)
    return isinstance(code, int) and 400 <= code < 500


n.is_temporary = is_temporary
app = n.app
