"""Wrong: doubles the wait without a cap (breaks clause 9: capped at 2 s)."""

from tests.byo import notify_app as n

n.MAX_BACKOFF = float("inf")
app = n.app
