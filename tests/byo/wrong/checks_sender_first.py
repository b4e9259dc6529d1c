"""Wrong: checks `sender` before the address and `q` (breaks clause 8: fields are checked in the order email,
q, sender)."""

from tests.byo import notify_app as n


def check_input(email: str, q: str | None, sender: str | None) -> None:
    n.check_sender(sender)
    n.check_email(email)
    n.check_q(q)


n.check_input = check_input
app = n.app
