"""Wrong: accepts a `q` of 1,001 characters (breaks clause 8: longer than 1,000 is refused)."""

from tests.byo import notify_app as n

n.MAX_Q = 1001
app = n.app
