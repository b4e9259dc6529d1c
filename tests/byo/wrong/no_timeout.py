"""Wrong: gives SMTP no time-out, waiting as long as the server takes (breaks clauses 9 and 10:
`AFTERWARD_SMTP_TIMEOUT`, and time-outs are temporary failures, retried)."""

from tests.byo import notify_app as n

n.smtp_timeout = lambda: None
app = n.app
