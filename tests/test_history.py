"""The history across releases: the change table is consistent, its page is committed fresh from
what a full `nox -s history` observed, and a wrong declared release is caught."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

from packaging.version import Version

from conformance.declared import changes, changes_for, properties
from conformance.history import OBSERVED, coverage, load_sets, merged, recheck
from conformance.render import changed_in
from shared.servers import FRAMEWORKS, REPO, SERVERS


def observed() -> dict:
    return json.loads(OBSERVED.read_text(encoding="utf-8"))


def test_each_timeline_joins_up_and_ends_at_the_declared_table() -> None:
    for change in changes():
        assert change.property in properties(), change
        assert change.source.startswith("https://github.com/"), change
        assert "/blob/" in change.source or "/pull/" in change.source, change
    for prop in properties().values():
        for framework in FRAMEWORKS:
            for server in SERVERS:
                cell = prop.cell(framework, server)
                steps = changes_for(prop.name, framework, server=server)
                for key in dict.fromkeys(s.also for s in steps):  # the value (""), then each observation
                    line = [s for s in steps if s.also == key]
                    where = (prop.name, framework, server, key)
                    assert len({s.package for s in line}) == 1, where
                    assert all(a.new == b.old for a, b in pairwise(line)), where
                    newest = cell.also.get(key) if key else {"na": cell.na} if cell.na else cell.value
                    assert line[-1].new == newest, where


def test_every_version_set_names_known_frameworks_and_ci_sets_exist() -> None:
    sets, ci = load_sets()
    assert set(ci) <= set(sets) and ci
    for vset in sets.values():
        assert set(vset.frameworks) <= set(FRAMEWORKS) and vset.frameworks, vset.name
        assert set(vset.servers) <= set(SERVERS), vset.name


def test_every_declared_change_was_observed_on_both_sides_of_its_release() -> None:
    data = observed()
    found = {(c["property"], c["package"], c["release"]): c for c in data["changes"]}
    for change in changes():
        seen = found.get((change.property, change.package, change.release))
        assert seen and seen["observed"], f"{change.property} at {change.package} {change.release}"
        before, after = Version(seen["before"]["version"]), Version(seen["after"]["version"])
        assert before < Version(change.release) <= after
    assert all(s["status"] in ("passed", "skipped") for s in data["sets"].values())


def test_a_wrong_declared_release_fails_the_history() -> None:
    """Declare each change one measured set early (at the set just before it) or late (just after
    the set at it): the recorded observations of that set then disagree with the table."""
    data = observed()
    sets = data["sets"]
    caught = 0
    for change in changes():
        seen = next(c for c in data["changes"] if (c["property"], c["package"], c["release"])
                    == (change.property, change.package, change.release))
        early = replace(change, release=seen["before"]["version"])
        late = replace(change, release=str(Version(seen["after"]["version"]).base_version) + ".post999")
        for wrong, side in ((early, "before"), (late, "after")):
            table = tuple(wrong if c == change else c for c in changes())
            entry = sets[seen[side]["set"]]
            assert recheck(entry["results"], entry["installed"], table, entry["cpus"]), (change, side)
            caught += 1
        before = sets[seen["before"]["set"]]
        assert not recheck(before["results"], before["installed"], cpus=before["cpus"])
    assert caught == 2 * len(changes())
    assert all(c["observed"] for c in coverage(sets))


def test_semantics_page_links_each_property_to_its_history() -> None:
    page = (REPO / "docs" / "semantics.md").read_text(encoding="utf-8")
    for name in properties():
        assert changed_in(name) in page, name
    for change in changes():
        assert f"versions.md#{change.property}" in page


def test_a_release_before_the_framework_had_tasks_reports_every_cell_with_its_reason() -> None:
    """Quart 0.15.1 has no `add_background_task`: no task runs on it, yet every property has its row,
    n/a with that reason where the property needs a task."""
    entry = observed()["sets"]["quart-0.15.1"]
    assert entry["status"] == "passed" and entry["installed"]["quart"] == "0.15.1"
    rows = {r["property"]: r for r in entry["results"]}
    assert set(rows) == set(properties())
    applies = [n for n, p in properties().items() if not p.cell("quart", "uvicorn").na]
    reason = "n/a: Quart has no `add_background_task`"
    na = [n for n in applies if str(rows[n]["observed"]).startswith(reason)]
    # What needs no task is measured there too (the server's exit with an idle connection), as declared.
    assert len(na) > len(applies) / 2 and all(rows[n]["passed"] for n in applies if n not in na), rows


def test_merging_sets_into_the_record_keeps_the_others_and_counts_their_coverage_again() -> None:
    record = observed()
    order = list(load_sets()[0])
    measured = {"sets": {"quart-0.15.1": record["sets"]["quart-0.15.1"]}, "skipped": {}}
    without = {**record, "sets": {n: e for n, e in record["sets"].items() if n != "quart-0.15.1"}}
    assert not all(c["observed"] for c in coverage(without["sets"]))
    again = merged(measured, without, order)
    assert again["sets"] == record["sets"] and list(again["sets"]) == list(record["sets"])
    assert again["changes"] == record["changes"]


def test_an_unknown_set_and_one_that_will_not_install_are_one_line_each(tmp_path: Path) -> None:
    sets = tmp_path / "versions.toml"
    sets.write_text('[sets.broken]\nabout = "no such release"\nrequirements = ["starlette==0.0.1"]\n'
                    'frameworks = ["starlette"]\n')
    report = tmp_path / "history.json"
    done = subprocess.run([sys.executable, "-m", "conformance.history", "nosuchset", "broken", "--sets-file",
                           str(sets), "--report", str(report), "--venvs", str(tmp_path / "venvs")],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    lines = done.stdout.splitlines()
    assert sum("nosuchset" in line for line in lines) == 2, done.stdout  # the line, and the summary's
    assert any(line.startswith("[1/1] broken: skipped: will not install") for line in lines), done.stdout
    written = json.loads(report.read_text())
    assert set(written["skipped"]) == {"nosuchset", "broken"}
    assert "will not install" in written["skipped"]["broken"]


def test_a_set_with_a_run_of_its_own_is_left_out_of_the_full_run_and_runs_when_named(tmp_path: Path) -> None:
    sets = tmp_path / "versions.toml"
    sets.write_text('[sets.every]\nabout = "in the full run"\nrequirements = ["starlette==0.0.1"]\n'
                    'frameworks = ["starlette"]\n'
                    '[sets.own]\nabout = "a session of its own"\nown_run = true\n'
                    'requirements = ["starlette==0.0.2"]\nframeworks = ["starlette"]\n')

    def history(*names: str) -> tuple[str, dict]:
        report = tmp_path / "history.json"
        done = subprocess.run([sys.executable, "-m", "conformance.history", *names, "--sets-file", str(sets),
                               "--report", str(report), "--venvs", str(tmp_path / "venvs")],
                              cwd=REPO, capture_output=True, text=True, timeout=300)
        return done.stdout, json.loads(report.read_text())

    out, written = history()
    assert set(written["skipped"]) == {"every"}, out
    assert "not measured here, kept from the committed record: own" in out
    out, written = history("own")
    assert set(written["skipped"]) == {"own"} and "not measured here" not in out, out
    assert not load_sets()[0]["lowest"].default and load_sets()[0]["newest"].default
