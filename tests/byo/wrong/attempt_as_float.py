"""Wrong: `mail_failed` counts its attempts as floats, 1.0, 2.0, ... (breaks clause 10: `attempt`
counts from 1, in whole numbers)."""

from tests.byo import notify_app as n

mail_failed = n.mail_failed
n.mail_failed = lambda email, attempt, error, final: mail_failed(email, float(attempt), error, final)
app = n.app
