"""Wrong: accepts `?sender=SYNC` and `Async` (breaks clause 8: `sender` is `sync` or `async`)."""

from tests.byo import notify_app as n


def check_sender(sender: str | None) -> None:
    if sender is not None and sender.lower() not in n.SENDERS:
        raise n.InvalidInput("sender", "must be sync or async")


pick = n.pick_sender
n.check_sender = check_sender
n.pick_sender = lambda sender: pick(sender.lower() if sender else sender)
app = n.app
