"""Wrong: `q`'s length is counted in UTF-16 code units, as JavaScript's `length` does (breaks
clause 8: at most 1,000 characters; a character outside the Basic Multilingual Plane is one, not
two)."""

from tests.byo import notify_app as n

check_q = n.check_q


def check_q_in_utf16(q):
    check_q(q)
    if q is not None and len(q.encode("utf-16-le")) // 2 > n.MAX_Q:
        raise n.InvalidInput("q", f"is longer than {n.MAX_Q} characters")


n.check_q = check_q_in_utf16
app = n.app
