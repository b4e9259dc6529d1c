"""Wrong: records `mail_sent` without `attempt` (breaks clause 11: the mail events carry `attempt`; clause
10's retry test looks for `mail_sent` of attempt 2)."""

from tests.byo import notify_app as n

record = n.record


def record_plain(event: str, request_id: str, **extra):
    if event == "mail_sent":
        extra.pop("attempt", None)
    record(event, request_id, **extra)


n.record = record_plain
app = n.app
