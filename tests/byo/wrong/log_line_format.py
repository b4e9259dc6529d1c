"""Wrong: writes the log line without the colon (breaks clause 2: `found query: <q>`)."""

from tests.byo import notify_app as n


def log_line(q: str) -> str:
    return f"found query {q}"


n.log_line = log_line
app = n.app
