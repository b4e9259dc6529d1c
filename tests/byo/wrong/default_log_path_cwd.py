"""Wrong: defaults to `afterward.log` in the working directory (breaks clause 9: in the temp directory)."""

from tests.byo import notify_app as n

n.log_path = lambda: n.setting("LOG_PATH", "afterward.log")
app = n.app
