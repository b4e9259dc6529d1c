"""Wrong: gives SMTP no time-out, waiting as long as the server takes (breaks clause 9:
`AFTERWARD_SMTP_TIMEOUT`)."""

from tests.byo import notify_app as n

n.smtp_timeout = lambda: None
app = n.app
