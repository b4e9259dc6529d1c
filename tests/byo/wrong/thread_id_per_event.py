"""Wrong: `thread_id` is a number of each event's own (breaks clause 11: the id of the thread
recording the event, the same for one attempt's `mail_started` and `mail_sent`)."""

import itertools

from tests.byo import notify_app as n

fields = n.event_fields
numbers = itertools.count(1)


def event_fields(event: str, request_id: str) -> dict:
    line = fields(event, request_id)
    line["thread_id"] = next(numbers)  # the mistake: an event counter where the thread's id belongs
    return line


n.event_fields = event_fields
app = n.app
