"""The fuzz tests' oracle says what clause 8 says, case by case from SPEC.md's text."""

import pytest

from reliability.oracle import ACCEPTED_BODY, answer_ok, verdict

OK = "someone@example.com"


@pytest.mark.parametrize(("email", "q", "sender", "want"), [
    (OK, None, None, (200, None)),
    (OK, "", "async", (200, None)),  # an empty q is given but registers nothing; not refused
    (OK, "q" * 1000, "sync", (200, None)),
    (OK, "q" * 1001, "sync", (422, "q")),
    (OK, "tab\there", None, (422, "q")),
    (OK, "nul\x00", None, (422, "q")),
    (OK, "c1\x85", None, (422, "q")),
    (OK, "line\u2028sep", None, (422, "q")),
    (OK, "para\u2029sep", None, (422, "q")),
    ("some\u2028one@example.com", None, None, (422, "email")),
    ("not an address", None, None, (422, "email")),
    (OK, None, "", (422, "sender")),
    (OK, None, "SYNC", (422, "sender")),
    ("bad", "\r\n", "nope", (422, "email")),  # fields in order: email, q, sender
    (OK, "\r\n", "nope", (422, "q")),
])
def test_verdict(email: str, q: str | None, sender: str | None, want: tuple[int, str | None]) -> None:
    assert verdict(email, q, sender) == want


def test_answer_ok_wants_the_spec_body() -> None:
    assert answer_ok(200, ACCEPTED_BODY, (200, None))
    assert not answer_ok(200, {"message": "sent"}, (200, None))
    body = {"error": "invalid_input", "field": "q", "detail": "contains a control character"}
    assert answer_ok(422, body, (422, "q"))
    assert not answer_ok(422, {**body, "field": "email"}, (422, "q"))
    assert not answer_ok(422, {**body, "detail": ""}, (422, "q"))
    assert not answer_ok(422, {"detail": []}, (422, "q"))  # a framework's own 422


def test_the_oracle_does_not_use_the_apps_validation() -> None:
    import ast
    from pathlib import Path

    import reliability.oracle

    tree = ast.parse(Path(reliability.oracle.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.split(".")[0] in ("shared", "frameworks")}, imported
