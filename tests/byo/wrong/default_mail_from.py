"""Wrong: defaults to `noreply@localhost` (breaks clause 9: `AFTERWARD_MAIL_FROM` default
`afterward@localhost`; clause 3's test of the envelope and headers checks the default)."""

from tests.byo import notify_app as n

n.mail_from = lambda: n.setting("MAIL_FROM", "noreply@localhost")
app = n.app
