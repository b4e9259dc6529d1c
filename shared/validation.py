"""Clause 8: what input is refused, and the one 422 body all four apps answer with."""

from __future__ import annotations

import unicodedata
from typing import Any

from email_validator import EmailNotValidError, validate_email

from shared.spec import INVALID_INPUT, MAX_QUERY_LENGTH, SENDERS

__all__ = ["InvalidInput", "check_request", "error_body"]

# Cc covers C0/C1 (CR, LF, NUL, ...); Zl/Zp are the Unicode line and paragraph
# separators, which some mail stacks fold into line breaks.
_CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


class InvalidInput(ValueError):
    """Raised before anything is registered; each app maps it to the 422 answer."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in text)


def check_request(email: str, q: str | None, sender: str | None = None) -> None:
    """Raise `InvalidInput` naming the first offending field, in the order email, q, sender."""
    if _has_control(email):
        raise InvalidInput("email", "contains a control character")
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput("email", "is not a valid e-mail address") from None
    if q is not None:
        if _has_control(q):
            raise InvalidInput("q", "contains a control character")
        if len(q) > MAX_QUERY_LENGTH:
            raise InvalidInput("q", f"is longer than {MAX_QUERY_LENGTH} characters")
    if sender is not None and sender not in SENDERS:
        raise InvalidInput("sender", f"must be one of {', '.join(SENDERS)}")


def error_body(error: InvalidInput) -> dict[str, Any]:
    """The JSON body of the 422 answer, identical in all four apps."""
    return {"error": INVALID_INPUT, "field": error.field, "detail": error.detail}
