"""Wrong: wraps the `def` sender in an `async def`, so it runs on the event loop (breaks clause 6: the `def`
sender runs off the event-loop thread)."""

from tests.byo import notify_app as n

pick = n.pick_sender


def pick_sender(sender: str | None):
    chosen = pick(sender)
    if chosen is not n.write_notification:
        return chosen

    async def notify(email: str, message: str) -> None:
        n.write_notification(email, message)  # the mistake: smtplib on the loop

    return notify


n.pick_sender = pick_sender
app = n.app
