"""Wrong: the e-mail goes to email-validator's normalized form of the address (breaks clause 3:
to `email` as given; the normalized form lower-cases the domain)."""

from email_validator import validate_email

from tests.byo import notify_app as n

build_message = n.build_message


def build_normalized(email, message):
    return build_message(validate_email(email, check_deliverability=False).normalized, message)


n.build_message = build_normalized
app = n.app
