"""Wrong: checks the address with a regular expression instead of email-validator (breaks clause 8:
`user@example`, `a..b@example.com` and `user@[127.0.0.1]` are not valid addresses)."""

import re

from tests.byo import notify_app as n

ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")  # the mistake: "something@something" taken for an address


def check_email(email: str) -> None:
    if n.has_control(email):
        raise n.InvalidInput("email", "contains a control character")
    if not ADDRESS.fullmatch(email):
        raise n.InvalidInput("email", "is not a valid e-mail address")


n.check_email = check_email
app = n.app
