"""Wrong: logs `q` with its surrounding spaces stripped (breaks clause 2: `found query: <q>`, `q` as
given)."""

from tests.byo import notify_app as n


def log_line(q: str) -> str:
    return f"found query: {q.strip()}"  # the mistake: input "tidied" on its way to the log


n.log_line = log_line
app = n.app
