"""Wrong: a server that refuses the connection at its greeting is taken to have refused for good,
whatever its reply's class (breaks clause 10: a 4xx greeting is temporary and retried)."""

import smtplib

import aiosmtplib

from tests.byo import notify_app as n

is_temporary = n.is_temporary


def is_temporary_unless_greeting(error):
    if isinstance(error, (smtplib.SMTPConnectError, aiosmtplib.SMTPConnectResponseError)):
        return False  # the mistake: "the server does not want us"
    return is_temporary(error)


n.is_temporary = is_temporary_unless_greeting
app = n.app
