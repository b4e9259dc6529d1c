"""Wrong: the body comes from a template that starts with a line end (breaks clause 3: the body
is `some notification`, exactly)."""

from tests.byo import notify_app as n

build_message = n.build_message
n.build_message = lambda email, message: build_message(email, f"\n{message}")
app = n.app
