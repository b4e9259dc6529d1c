"""Wrong: retries every failure, permanent ones too (breaks clause 10: 5xx is not retried)."""

from tests.byo import notify_app as n

n.is_temporary = lambda error: True
app = n.app
