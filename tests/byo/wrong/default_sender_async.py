"""Wrong: without `?sender=` it picks the `async def` sender (breaks clause 4: `sync` is the default)."""

from tests.byo import notify_app as n


def pick_sender(sender: str | None):
    return n.write_notification if sender == "sync" else n.write_notification_async


n.pick_sender = pick_sender
app = n.app
