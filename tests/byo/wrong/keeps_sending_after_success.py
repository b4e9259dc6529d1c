"""Wrong: the `def` sender's retry loop has no `return` after a success, so it sends every attempt (breaks
clause 3: exactly one e-mail)."""

import smtplib
import time

from tests.byo import notify_app as n


def write_notification(email: str, message: str) -> None:
    msg = n.build_message(email, message)
    attempts = n.smtp_attempts()
    for attempt in range(1, attempts + 1):
        n.record("mail_started", email, attempt=attempt)
        try:
            n.send_with_smtplib(msg)
        except (OSError, smtplib.SMTPException) as error:
            final = attempt == attempts or not n.is_temporary(error)
            n.mail_failed(email, attempt, error, final)
            if final:
                return
            time.sleep(n.backoff(attempt))
        else:
            n.record("mail_sent", email, attempt=attempt)  # the mistake: no return


n.write_notification = write_notification
app = n.app
