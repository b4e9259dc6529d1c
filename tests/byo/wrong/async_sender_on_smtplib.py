"""Wrong: the `async def` sender calls blocking smtplib, freezing the event loop while SMTP answers (breaks
clause 4: the `async def` sender is built on aiosmtplib; clause 6's test catches it: other requests are
answered meanwhile)."""

from tests.byo import notify_app as n


async def send_with_aiosmtplib(msg) -> None:
    n.send_with_smtplib(msg)  # the mistake: a blocking call inside `async def`


n.send_with_aiosmtplib = send_with_aiosmtplib
app = n.app
