"""Wrong: adds a `Bcc` for an archive, which smtplib and aiosmtplib put in the envelope (breaks clause 3: the
envelope's one recipient)."""

from tests.byo import notify_app as n

build = n.build_message


def build_message(email: str, message: str):
    msg = build(email, message)
    msg["Bcc"] = "archive@example.com"
    return msg


n.build_message = build_message
app = n.app
