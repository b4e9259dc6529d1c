"""Wrong: always makes 4 attempts (breaks clauses 9 and 10: `AFTERWARD_SMTP_ATTEMPTS`)."""

from tests.byo import notify_app as n

n.smtp_attempts = lambda: 4
app = n.app
