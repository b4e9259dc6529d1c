"""Wrong: defaults to SMTP's port 25 (breaks clause 9: `AFTERWARD_SMTP_PORT` default 8025)."""

from tests.byo import notify_app as n

n.smtp_port = lambda: int(n.setting("SMTP_PORT", "25"))
app = n.app
