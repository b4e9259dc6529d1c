"""Wrong: counts retries, not attempts: one attempt more (breaks clause 10: at most `AFTERWARD_SMTP_ATTEMPTS`
attempts in all)."""

from tests.byo import notify_app as n

attempts = n.smtp_attempts
n.smtp_attempts = lambda: attempts() + 1
app = n.app
