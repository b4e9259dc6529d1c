"""Wrong: a `QUIT` refused is let go, but one left unanswered until the time-out fails the attempt,
which is retried (breaks clause 10, and 3's one e-mail: the message the server took is sent again)."""

import smtplib

from tests.byo import notify_app as n


def send_with_smtplib(msg):
    smtp = smtplib.SMTP(n.smtp_host(), n.smtp_port(), timeout=n.smtp_timeout())
    smtp.send_message(msg)
    try:
        smtp.quit()
    except smtplib.SMTPResponseException:  # the mistake: a time-out is no response, and goes up
        smtp.close()


n.send_with_smtplib = send_with_smtplib
app = n.app
