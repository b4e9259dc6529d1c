"""Wrong: internationalized addresses are refused (breaks clause 8: email-validator's defaults
accept them, SMTPUTF8 carries them; only an address it refuses is bad input)."""

from email_validator import EmailNotValidError, validate_email

from tests.byo import notify_app as n


def check_email(email):
    if n.has_control(email):
        raise n.InvalidInput("email", "contains a control character")
    try:
        validate_email(email, check_deliverability=False, allow_smtputf8=False)  # the mistake
    except EmailNotValidError as error:
        raise n.InvalidInput("email", str(error)) from None


n.check_email = check_email
app = n.app
