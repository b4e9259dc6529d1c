"""Wrong: always waits from 0.2 s (breaks clauses 9 and 10: `AFTERWARD_SMTP_BACKOFF`)."""

from tests.byo import notify_app as n

n.backoff = lambda failed_attempt: min(0.2 * 2 ** (failed_attempt - 1), n.MAX_BACKOFF)
app = n.app
