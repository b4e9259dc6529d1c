"""Wrong: a recipient refused at `RCPT TO` is never retried, whatever the reply's code (breaks clause 10:
4xx replies are temporary, at `RCPT TO` as after the message)."""

from tests.byo import notify_app as n

_is_temporary = n.is_temporary


def is_temporary(error: Exception) -> bool:
    if getattr(error, "recipients", None):  # the mistake: every refused recipient counts as permanent
        return False
    return _is_temporary(error)


n.is_temporary = is_temporary
app = n.app
