"""Wrong: signs the e-mail (breaks clause 3: body `some notification`)."""

from tests.byo import notify_app as n

n.MESSAGE = "some notification\n\n-- \nThe afterward team"
app = n.app
