"""Wrong: always connects to 127.0.0.1 (breaks clause 9: the SMTP server is `AFTERWARD_SMTP_HOST`;
clause 10's refused-connection test sets it)."""

from tests.byo import notify_app as n

n.smtp_host = lambda: "127.0.0.1"  # the mistake: the default taken for the only value
app = n.app
