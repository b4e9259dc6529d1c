"""Wrong: lets TAB through, as whitespace (breaks clause 8: TAB is a control character)."""

import unicodedata

from tests.byo import notify_app as n


def has_control(text: str) -> bool:
    return any(unicodedata.category(c) in n.CONTROL and c != "\t" for c in text)


n.has_control = has_control
app = n.app
