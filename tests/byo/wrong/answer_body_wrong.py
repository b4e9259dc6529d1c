"""Wrong: answers another message (breaks clause 1: the JSON body)."""

from tests.byo import notify_app as n

n.ANSWER = {"message": "Notification queued"}
app = n.app
