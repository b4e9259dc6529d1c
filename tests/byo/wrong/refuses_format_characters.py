"""Wrong: every character of Unicode's "other" categories is refused, format characters (a soft
hyphen, a zero-width joiner) included (breaks clause 8: only control characters, Cc, and the
line and paragraph separators are refused)."""

import unicodedata

from tests.byo import notify_app as n

n.has_control = lambda text: any(unicodedata.category(c)[0] == "C" or c in "\u2028\u2029" for c in text)
app = n.app
