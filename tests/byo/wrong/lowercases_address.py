"""Wrong: the address is sent in lower case (breaks clause 3: the e-mail goes to `email` as given;
only its domain is case-insensitive, and the spec does not say to change either)."""

from tests.byo import notify_app as n

build_message = n.build_message
n.build_message = lambda email, message: build_message(email.lower(), message)
app = n.app
