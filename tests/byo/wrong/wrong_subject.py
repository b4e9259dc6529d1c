"""Wrong: says `New notification` in the subject (breaks clause 3: subject `Notification`)."""

from tests.byo import notify_app as n

n.SUBJECT = "New notification"
app = n.app
