"""Wrong: defaults to 3 attempts (breaks clauses 9 and 10: `AFTERWARD_SMTP_ATTEMPTS` default 4)."""

from tests.byo import notify_app as n

n.smtp_attempts = lambda: int(n.setting("SMTP_ATTEMPTS", "3"))
app = n.app
