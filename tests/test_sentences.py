"""The table of spec sentences agrees with SPEC.md, the contract tests, and its page."""

from conformance.sentences import PAGE, contract_tests, page, sentences, spec_text


def test_every_sentence_is_quoted_from_the_spec() -> None:
    spec = spec_text()
    missing = [s.text for s in sentences() if " ".join(s.text.split()) not in spec]
    assert not missing, f"not in shared/SPEC.md (reworded?): {missing}"


def test_every_sentence_is_tested_or_says_why_not() -> None:
    assert not [s.text for s in sentences() if not s.tests and not s.unobservable]


def test_every_listed_test_exists_and_every_contract_test_is_listed() -> None:
    tests = contract_tests()
    listed = {t for s in sentences() for t in s.tests}
    assert not listed - set(tests), f"listed but not in test_contract.py: {sorted(listed - set(tests))}"
    assert not set(tests) - listed, f"contract tests no sentence lists: {sorted(set(tests) - listed)}"


def test_every_clause_of_the_spec_has_a_sentence() -> None:
    clauses = {s.clause for s in sentences()}
    assert clauses == {str(n) for n in range(1, 12)}


def test_contract_page_is_fresh() -> None:
    assert PAGE.read_text(encoding="utf-8") == page(), "run `python -m conformance.sentences`"
