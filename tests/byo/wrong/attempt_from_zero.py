"""Wrong: counts attempts from 0 (breaks clause 10: `attempt` counts from 1)."""

from tests.byo import notify_app as n

record = n.record


def record_shifted(event: str, request_id: str, **extra):
    if "attempt" in extra:
        extra["attempt"] -= 1
    record(event, request_id, **extra)


n.record = record_shifted
app = n.app
