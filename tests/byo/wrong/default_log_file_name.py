"""Wrong: defaults to `notifications.log` in the temp directory (breaks clause 9: `AFTERWARD_LOG_PATH`
default `afterward.log` in the temp directory)."""

import os
import tempfile

from tests.byo import notify_app as n

n.log_path = lambda: n.setting("LOG_PATH", os.path.join(tempfile.gettempdir(), "notifications.log"))
app = n.app
