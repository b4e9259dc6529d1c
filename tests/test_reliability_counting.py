"""The reliability checks count deliveries per address: a duplicate cannot hide a loss.

Real e-mails over SMTP to the embedded sink, sent with smtplib as the `def` sender does.
"""

import smtplib
import socket
import uuid
from email.message import EmailMessage

from reliability.delivery import Tally
from shared.sink import SmtpSink


def send(sink: SmtpSink, to: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "test@localhost", to, "Notification"
    msg.set_content("some notification")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
        smtp.send_message(msg)


def test_a_duplicate_cannot_hide_a_loss(sink: SmtpSink) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    a, b, c = (f"{prefix}{n}@example.com" for n in "abc")
    for to in (a, a, b):  # three accepted, three e-mails: c lost behind a's duplicate
        send(sink, to)
    counts = sink.wait_delivered({a, b, c}, prefix, timeout=10)
    assert sum(counts.values()) == 3  # what the old check (a count of 250s) saw: "3/3"
    tally = Tally.of({a, b, c}, counts)
    assert tally.missing == {c} and tally.duplicates == 1 and not tally.unexpected
    assert tally.ratio() == "2/3"


def test_an_unaccepted_delivery_is_reported(sink: SmtpSink) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    send(sink, f"{prefix}stray@example.com")
    tally = Tally.of({f"{prefix}ok@example.com"}, sink.wait_delivered({"x"}, prefix, timeout=10))
    assert tally.unexpected == {f"{prefix}stray@example.com"} and tally.missing == {f"{prefix}ok@example.com"}


def test_a_held_e_mail_whose_client_went_away_is_never_delivered(sink: SmtpSink) -> None:
    """The release after a kill must not count as a delivery: the sink marks the e-mail dropped."""
    to = f"t{uuid.uuid4().hex[:8]}@example.com"
    gate = sink.hold(to)
    try:
        conn = socket.create_connection(("127.0.0.1", sink.port), timeout=10)
        reader = conn.makefile("rb")
        reader.readline()  # the greeting
        for line in ("HELO test", "MAIL FROM:<test@localhost>", f"RCPT TO:<{to}>", "DATA"):
            conn.sendall(line.encode() + b"\r\n")
            reader.readline()
        conn.sendall(b"Subject: x\r\n\r\nbody\r\n.\r\n")
        gate.wait_arrived(1, timeout=10)
        reader.close()
        conn.close()  # as a killed sender's kernel would
        gate.wait_dropped(timeout=10)
    finally:
        gate.release()
    (held,) = gate.arrived
    assert held.dropped and not held.delivered and held.replied is None
    assert not sink.deliveries(to).update()
