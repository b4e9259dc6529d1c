"""Clause 8 read again from shared/SPEC.md, for the fuzz tests to hold every app against.

The four apps all call shared/validation.py, so their agreement with each other is by
construction; this is a second, independent reading of the spec's text (it does not
import shared/, on purpose). The spec names email-validator for the address syntax,
so that much is shared.

    The request is answered `422` with {"error": "invalid_input", "field":
    "<email|q|sender>", "detail": "<text>"} ... when: `email` is not a valid address
    (email-validator, no deliverability check); `email` or `q` contains a control
    character (Unicode category Cc, which includes CR, LF, TAB and NUL, or a
    line/paragraph separator); `q` is longer than 1,000 characters; `sender` is not
    `sync` or `async`. Fields are checked in that order.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from email_validator import EmailNotValidError, validate_email

__all__ = ["ACCEPTED_BODY", "answer_ok", "verdict"]

#: Clause 1's answer to an accepted request.
ACCEPTED_BODY = {"message": "Notification sent in the background"}
LONGEST_Q = 1000
SENDERS = ("sync", "async")  # clause 4; absent means `sync`
LINE_SEPARATOR, PARAGRAPH_SEPARATOR = "\u2028", "\u2029"


def _control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" or ch in (LINE_SEPARATOR, PARAGRAPH_SEPARATOR) for ch in text)


def _valid_address(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def verdict(email: str, q: str | None, sender: str | None) -> tuple[int, str | None]:
    """What clause 8 says the answer is: (200, None), or (422, the first offending field)."""
    if _control(email) or not _valid_address(email):
        return 422, "email"
    if q is not None and (_control(q) or len(q) > LONGEST_Q):
        return 422, "q"
    if sender is not None and sender not in SENDERS:
        return 422, "sender"
    return 200, None


def answer_ok(status: int, body: Any, want: tuple[int, str | None]) -> bool:
    """An answer as clause 8 (and clause 1's body) says it must be, given `verdict(...)`."""
    if status != want[0]:
        return False
    if status == 200:
        return body == ACCEPTED_BODY
    return (isinstance(body, dict) and set(body) == {"error", "field", "detail"}
            and body["error"] == "invalid_input" and body["field"] == want[1] and bool(body["detail"]))
