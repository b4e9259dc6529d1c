"""Wrong: always sends from `afterward@localhost` (breaks clause 3: from `AFTERWARD_MAIL_FROM`; clause 9's
test sets it)."""

from tests.byo import notify_app as n

n.mail_from = lambda: "afterward@localhost"
app = n.app
