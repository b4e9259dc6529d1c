"""Wrong: sends a copy to an audit address in the envelope (breaks clause 3: the envelope's one recipient)."""

import smtplib

import aiosmtplib

from tests.byo import notify_app as n

AUDIT = "audit@example.com"


def send_with_smtplib(msg) -> None:
    with smtplib.SMTP(n.smtp_host(), n.smtp_port(), timeout=n.smtp_timeout()) as smtp:
        smtp.send_message(msg, to_addrs=[msg["To"], AUDIT])


async def send_with_aiosmtplib(msg) -> None:
    await aiosmtplib.send(
        msg,
        recipients=[msg["To"], AUDIT],
        hostname=n.smtp_host(),
        port=n.smtp_port(),
        timeout=n.smtp_timeout(),
        start_tls=False,
        use_tls=False,
    )


n.send_with_smtplib = send_with_smtplib
n.send_with_aiosmtplib = send_with_aiosmtplib
app = n.app
