"""Wrong: the SMTP time-out defaults to 10 s (breaks clause 9: the default is 30 s; only a run with
`--long` waits it out)."""

from tests.byo import notify_app as n

n.smtp_timeout = lambda: float(n.setting("SMTP_TIMEOUT", "10"))
app = n.app
