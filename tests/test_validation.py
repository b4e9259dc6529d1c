import pytest

from shared.spec import MAX_QUERY_LENGTH
from shared.validation import InvalidInput, check_request, error_body


@pytest.mark.parametrize("email", ["user@example.com", "first.last+tag@sub.example.org"])
def test_valid_addresses_pass(email: str) -> None:
    check_request(email, None)


@pytest.mark.parametrize(("email", "q", "sender", "field"), [
    ("not-an-email", None, None, "email"),
    ("a\r\nbcc:x@example.com", None, None, "email"),
    ("a\x00b@example.com", None, None, "email"),
    ("user@example.com", "a\nb", None, "q"),
    ("user@example.com", "a\u2028b", None, "q"),
    ("user@example.com", "x" * (MAX_QUERY_LENGTH + 1), None, "q"),
    ("user@example.com", None, "fax", "sender"),
])
def test_bad_input_names_the_field(email: str, q: str | None, sender: str | None, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_request(email, q, sender)
    assert info.value.field == field
    assert error_body(info.value)["field"] == field


def test_longest_query_passes() -> None:
    check_request("user@example.com", "x" * MAX_QUERY_LENGTH, "async")
