"""Wrong: records no `thread_name` (breaks clause 11: the fields of every event)."""

from tests.byo import notify_app as n

fields = n.event_fields


def event_fields(event: str, request_id: str) -> dict:
    line = fields(event, request_id)
    del line["thread_name"]  # the mistake: the thread's id was thought enough
    return line


n.event_fields = event_fields
app = n.app
