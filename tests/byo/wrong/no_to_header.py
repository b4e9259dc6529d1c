"""Wrong: gives the address to the envelope only, no `To` header (breaks clause 3: the `To` header)."""

import smtplib

import aiosmtplib

from tests.byo import notify_app as n


def send_with_smtplib(msg) -> None:
    to = msg["To"]
    del msg["To"]
    with smtplib.SMTP(n.smtp_host(), n.smtp_port(), timeout=n.smtp_timeout()) as smtp:
        smtp.send_message(msg, to_addrs=[to])
    msg["To"] = to  # the next attempt gets the same message


async def send_with_aiosmtplib(msg) -> None:
    to = msg["To"]
    del msg["To"]
    try:
        await aiosmtplib.send(
            msg,
            recipients=[to],
            hostname=n.smtp_host(),
            port=n.smtp_port(),
            timeout=n.smtp_timeout(),
            start_tls=False,
            use_tls=False,
        )
    finally:
        msg["To"] = to


n.send_with_smtplib = send_with_smtplib
n.send_with_aiosmtplib = send_with_aiosmtplib
app = n.app
