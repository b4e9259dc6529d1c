"""Wrong: asks DNS whether the domain takes e-mail (breaks clause 8: no deliverability check)."""

from email_validator import EmailNotValidError, validate_email

from tests.byo import notify_app as n


def check_email(email: str) -> None:
    if n.has_control(email):
        raise n.InvalidInput("email", "contains a control character")
    try:
        validate_email(email)  # the mistake: check_deliverability defaults to True
    except EmailNotValidError as error:
        raise n.InvalidInput("email", str(error)) from None


n.check_email = check_email
app = n.app
