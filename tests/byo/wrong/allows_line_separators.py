"""Wrong: refuses category Cc only (breaks clause 8: line and paragraph separators are control characters
here)."""

from tests.byo import notify_app as n

n.CONTROL = frozenset({"Cc"})
app = n.app
