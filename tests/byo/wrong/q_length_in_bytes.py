"""Wrong: counts `q` in UTF-8 bytes (breaks clause 8: 1,000 characters)."""

from tests.byo import notify_app as n


def check_q(q: str | None) -> None:
    if q is None:
        return
    if n.has_control(q):
        raise n.InvalidInput("q", "contains a control character")
    if len(q.encode()) > n.MAX_Q:
        raise n.InvalidInput("q", f"is longer than {n.MAX_Q} bytes")


n.check_q = check_q
app = n.app
