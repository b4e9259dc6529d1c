"""Wrong: doubles the wait without a cap (breaks clauses 9 and 10: capped at 2 s)."""

from tests.byo import notify_app as n

n.MAX_BACKOFF = float("inf")
app = n.app
