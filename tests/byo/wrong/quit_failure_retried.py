"""Wrong: smtplib's `with` block around the send, whose exit raises when `QUIT` is answered other
than `221` (breaks clause 10, and 3's one e-mail: the message the server took is sent again)."""

import smtplib

from tests.byo import notify_app as n


def send_with_smtplib(msg):
    with smtplib.SMTP(n.smtp_host(), n.smtp_port(), timeout=n.smtp_timeout()) as smtp:
        smtp.send_message(msg)


n.send_with_smtplib = send_with_smtplib
app = n.app
