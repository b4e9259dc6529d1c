"""Wrong: a friendly `From` header of another address than the envelope's sender (breaks clause 3: from
`AFTERWARD_MAIL_FROM`, the envelope's sender and the `From` header)."""

import smtplib

import aiosmtplib

from tests.byo import notify_app as n

build = n.build_message


def build_message(email: str, message: str):
    msg = build(email, message)
    msg.replace_header("From", "Afterward <noreply@afterward.example>")
    return msg


def send_with_smtplib(msg) -> None:
    with smtplib.SMTP(n.smtp_host(), n.smtp_port(), timeout=n.smtp_timeout()) as smtp:
        smtp.send_message(msg, from_addr=n.mail_from())


async def send_with_aiosmtplib(msg) -> None:
    await aiosmtplib.send(
        msg,
        sender=n.mail_from(),
        hostname=n.smtp_host(),
        port=n.smtp_port(),
        timeout=n.smtp_timeout(),
        start_tls=False,
        use_tls=False,
    )


n.build_message = build_message
n.send_with_smtplib = send_with_smtplib
n.send_with_aiosmtplib = send_with_aiosmtplib
app = n.app
