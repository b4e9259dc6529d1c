"""Wrong: records `mail_started` for the first attempt only (breaks clause 11: each attempt; clause 10's test
of a refused connection counts them)."""

from tests.byo import notify_app as n

record = n.record


def record_first(event: str, request_id: str, **extra):
    if event == "mail_started" and extra.get("attempt", 1) > 1:
        return
    record(event, request_id, **extra)


n.record = record_first
app = n.app
