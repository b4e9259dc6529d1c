"""Wrong: retries at once (breaks clause 10: each retry waits the backoff)."""

from tests.byo import notify_app as n

n.backoff = lambda failed_attempt: 0.0
app = n.app
