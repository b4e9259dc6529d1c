"""Wrong: refuses a `q` of exactly 1,000 characters (breaks clause 8: longer than 1,000)."""

from tests.byo import notify_app as n


def check_q(q: str | None) -> None:
    if q is None:
        return
    if n.has_control(q):
        raise n.InvalidInput("q", "contains a control character")
    if len(q) >= n.MAX_Q:
        raise n.InvalidInput("q", f"is {n.MAX_Q} characters or more")


n.check_q = check_q
app = n.app
