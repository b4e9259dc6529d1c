"""The table of spec sentences agrees with SPEC.md, the contract tests, and its page."""

from conformance.sentences import contract_tests, missing_tests, sentences, spec_text


def test_every_sentence_is_quoted_from_the_spec() -> None:
    spec = spec_text()
    missing = [s.text for s in sentences() if " ".join(s.text.split()) not in spec]
    assert not missing, f"not in shared/SPEC.md (reworded?): {missing}"


def test_every_sentence_is_tested_or_says_why_not() -> None:
    assert not [s.text for s in sentences() if not s.tests and not s.unobservable]


def test_every_listed_test_exists_and_every_contract_test_is_listed() -> None:
    tests = contract_tests()
    listed = {t for s in sentences() for t in s.tests if "::" not in t}
    assert not missing_tests(), f"listed but not defined where named: {missing_tests()}"
    assert not set(tests) - listed, f"contract tests no sentence lists: {sorted(set(tests) - listed)}"


def test_every_clause_of_the_spec_has_a_sentence() -> None:
    clauses = {s.clause for s in sentences()}
    assert clauses == {str(n) for n in range(1, 18)}  # 12-17: the durable variants


def test_a_test_named_in_another_file_must_exist_there(monkeypatch) -> None:
    import conformance.sentences as module

    real = module.sentences()
    named = ("durable/test_broker.py::no_such_test", "no_such_contract_test")
    wrong = module.Sentence("12", real[0].text, named)
    monkeypatch.setattr(module, "sentences", lambda: [*real, wrong])
    assert module.missing_tests() == list(named)
