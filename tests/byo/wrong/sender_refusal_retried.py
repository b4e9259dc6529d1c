"""Wrong: a refusal at `MAIL FROM` is retried whatever its class (breaks clause 10: a 5xx reply
is permanent, at any stage of the conversation)."""

import smtplib

import aiosmtplib

from tests.byo import notify_app as n

is_temporary = n.is_temporary


def is_temporary_at_mail_from(error):
    if isinstance(error, (smtplib.SMTPSenderRefused, aiosmtplib.SMTPSenderRefused)):
        return True  # the mistake: "our own sender address can't be wrong for good"
    return is_temporary(error)


n.is_temporary = is_temporary_at_mail_from
app = n.app
