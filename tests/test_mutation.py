"""Mutation testing: the page agrees with its data, and the machinery still kills (a fixed sample)."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mutation.mutants import Key, changed_lines, declared, keys_for
from mutation.report import DATA, render
from mutation.targets import TARGETS, bit_or_outside_annotations
from shared.servers import REPO


def data() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def test_every_mutant_that_survived_is_declared_equivalent_with_a_reason() -> None:
    reasons = {Key.of(e): e["reason"] for e in declared().get("equivalent", [])}
    unexplained = [str(Key.of(m)) for m in data()["mutants"]
                   if m["outcome"] == "survived" and Key.of(m) not in reasons]
    assert not unexplained, "survivors with no test that kills them and no reason:\n" + "\n".join(unexplained)
    assert all(reason.strip() for reason in reasons.values())


def test_a_mutant_killed_elsewhere_names_a_test_and_a_session_that_exist() -> None:
    import ast
    import re

    sessions = set(re.findall(r"^def (\w+)\(session", (REPO / "noxfile.py").read_text(), re.M))
    entries = [e for e in declared().get("equivalent", []) if e.get("kind") == "elsewhere"]
    assert entries, "no mutant is declared killed by a longer session's test"
    for e in entries:
        path, _, name = e["killer"].partition("::")
        tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
        tests = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert name.partition("[")[0] in tests, f"{e['killer']}: no such test"
        assert e["session"] in sessions, f"{e['killer']}: no nox session {e['session']!r}"
    assert {e.get("kind", "equivalent") for e in declared()["equivalent"]} <= {"equivalent", "elsewhere"}


def test_each_mutant_killed_elsewhere_is_made_from_its_name_as_cosmic_ray_made_it() -> None:
    from mutation.elsewhere import make
    from mutation.mutants import diff

    survivors = {Key.of(m): m for m in data()["mutants"] if m["outcome"] == "survived"}
    for e in declared()["equivalent"]:
        if e.get("kind") == "elsewhere":
            key = Key.of(e)
            source = (REPO / key.file).read_text(encoding="utf-8")
            assert diff(source, make(source, key), key.file) == survivors[key]["diff"], key


def test_a_mutant_declared_killed_elsewhere_counts_only_when_its_killer_killed_it() -> None:
    run = data()
    kills = run["elsewhere"]
    assert kills and all(k["outcome"] == "killed" for k in kills)
    page = render(run)
    assert f"Killed by a longer session's test ({len(kills)})" in page
    assert "Not killed, no reason declared" not in page
    survived = copy.deepcopy(run)
    survived["elsewhere"][0]["outcome"] = "survived"
    page = render(survived)
    assert "Not killed, no reason declared (1)" in page
    assert f"Killed by a longer session's test ({len(kills) - 1})" in page
    assert "Not killed, no reason declared (1)" in render({**run, "elsewhere": kills[1:]})


def test_the_run_covered_every_target_file() -> None:
    assert {m["file"] for m in data()["mutants"]} == set(TARGETS)


def test_a_reason_for_a_mutant_that_no_longer_survives_is_refused() -> None:
    killed = next(m for m in data()["mutants"] if m["outcome"] == "killed")
    stale = [{**Key.of(killed).as_dict(), "reason": "said to change nothing"}]
    with pytest.raises(ValueError, match="not survivors"):
        render(data(), equivalents=stale)


def test_a_survivor_without_a_reason_is_shown_as_not_killed() -> None:
    changed = copy.deepcopy(data())
    reasons = {Key.of(e) for e in declared().get("equivalent", [])}
    before = sum(m["outcome"] == "survived" and Key.of(m) not in reasons for m in changed["mutants"])
    mutant = next(m for m in changed["mutants"] if m["outcome"] == "killed")
    mutant["outcome"] = "survived"
    page = render(changed)
    assert f"Not killed, no reason declared ({before + 1})" in page
    assert f"`{mutant['file']}:{mutant['line']}`" in page.partition("### Equivalent")[0]


def test_bit_or_is_only_used_in_annotations_of_the_mutated_files(tmp_path: Path) -> None:
    """Why `|`'s replacements are left out (mutation/targets.py): a `|` elsewhere must be mutated."""
    assert {f: bit_or_outside_annotations(REPO / f) for f in TARGETS} == {f: [] for f in TARGETS}
    module = tmp_path / "flags.py"
    module.write_text("def f(a: int | None, b: int) -> int | None:\n    c: int | str = a\n    return b | 2\n")
    assert bit_or_outside_annotations(module) == [3]


def test_identical_changes_are_numbered_in_order() -> None:
    change = ("shared/mailer.py", "for attempt in range(1, n):", "for attempt in range(2, n):")
    other = ("shared/mailer.py", "x = 1", "x = 2")
    assert [k.nth for k in keys_for([change, other, change])] == [1, 1, 2]


def test_a_change_is_named_by_its_lines_not_by_where_they_are() -> None:
    before = "a = 1\nb = 2\n"
    assert changed_lines(before, "a = 1\nb = 3\n") == ("b = 2", "b = 3", 2)
    assert changed_lines("# new line\n" + before, "# new line\na = 1\nb = 3\n")[:2] == ("b = 2", "b = 3")


def test_the_sample_of_mutants_is_killed_by_the_declared_tests() -> None:
    """The machinery end to end on a fixed sample (mutation/declared.toml): cosmic-ray rewrites each
    file in a copy, the contract tier runs against the mutant, and each is killed by the test
    named for it, in its call, or, for the one declared to survive, passes every test."""
    run = subprocess.run([sys.executable, "-m", "mutation", "--sample", "--jobs", "2"], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

