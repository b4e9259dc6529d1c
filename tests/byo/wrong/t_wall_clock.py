"""Wrong: records `t` from `time.time()` (breaks clause 11: `t` = `time.monotonic()`)."""

import time

from tests.byo import notify_app as n

fields = n.event_fields


def event_fields(event: str, request_id: str) -> dict:
    return {**fields(event, request_id), "t": time.time()}


n.event_fields = event_fields
app = n.app
