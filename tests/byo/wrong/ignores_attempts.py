"""Wrong: always makes 4 attempts (breaks clause 9: `AFTERWARD_SMTP_ATTEMPTS`)."""

from tests.byo import notify_app as n

n.smtp_attempts = lambda: 4
app = n.app
