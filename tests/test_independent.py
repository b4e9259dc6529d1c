"""The apps written from the spec alone (independent/): both pass the contract tier as a user runs
it, the suite kills a sample of their one-clause mutants with the clause named, and the mutants,
their data and their page section agree."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import pytest

from mutation.independent import APPS, DATA, apply, check, copy_app, fastify_tree, make
from mutation.independent_mutants import MUTANTS, Mutant
from mutation.report import render
from shared.servers import REPO

#: One mutant per app that the suite must kill in CI, with the clause its failing tests name.
SAMPLE = {"falcon": ("c8-q-of-1000-refused", "8"), "fastify": ("c2-log-after-the-email", "2")}


@pytest.fixture(scope="module")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Node app's dependencies, installed with `npm ci` from its committed lockfile."""
    return fastify_tree(tmp_path_factory.mktemp("npm")) / "node_modules"


def mutant(name: str, app: str) -> Mutant:
    return next(m for m in MUTANTS if m.app == app and m.name == name)


def test_falcon_app_passes_the_contract_tier(tmp_path: Path) -> None:
    """`afterward-conformance --app notifier:app --app-dir independent/falcon_notifier` exits 0."""
    tree = copy_app(APPS["falcon"], tmp_path / "app")
    result = check(APPS["falcon"], tree, tmp_path)
    assert (result["exit"], result["failed"]) == (0, []), result["output"]


def test_fastify_app_passes_the_contract_tier_by_url(tmp_path: Path, node_modules: Path) -> None:
    """`node server.js`, checked by `afterward-conformance --url ... --log ... --events ...`, exits 0."""
    tree = copy_app(APPS["fastify"], tmp_path / "app", node_modules)
    result = check(APPS["fastify"], tree, tmp_path)
    assert (result["exit"], result["failed"]) == (0, []), result["output"]


@pytest.mark.parametrize("app", sorted(SAMPLE))
def test_the_suite_kills_a_sample_mutant_with_its_clause_named(
    app: str, tmp_path: Path, node_modules: Path
) -> None:
    name, clause = SAMPLE[app]
    tree = copy_app(APPS[app], tmp_path / "app", node_modules if app == "fastify" else None)
    make(mutant(name, app), tree)
    result = check(APPS[app], tree, tmp_path)
    assert result["exit"] == 1, result["output"]
    assert clause in {f["clause"] for f in result["failed"]}, result["failed"]


def test_each_mutant_edit_is_found_once_in_the_app() -> None:
    for m in MUTANTS:
        for file, removed, added in m.edits:
            text = (APPS[m.app].source / file).read_text(encoding="utf-8")
            assert apply(text, removed, added, m.name) != text, m.name


def test_an_edit_found_twice_or_not_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="2 times"):
        apply("a = 1\na = 1\n", "a = 1", "a = 2", "twice")
    with pytest.raises(ValueError, match="0 times"):
        apply("a = 1\n", "b = 1", "b = 2", "absent")


def test_each_mutant_is_named_for_its_clause_and_quotes_the_spec() -> None:
    spec = " ".join((REPO / "shared" / "SPEC.md").read_text(encoding="utf-8").split())
    names = [(m.app, m.name) for m in MUTANTS]
    assert len(names) == len(set(names))
    for m in MUTANTS:
        assert m.name.startswith(f"c{m.clause}-") and 1 <= m.clause <= 11, m.name
        for fragment in re.split(r"\s*\(?\.\.\.;?\s*", m.sentence):
            assert fragment.strip(" ()") in spec, f"{m.name}: {fragment!r} is not in shared/SPEC.md"


def test_each_app_has_mutants_of_most_clauses() -> None:
    for app in APPS:
        clauses = {m.clause for m in MUTANTS if m.app == app}
        assert sum(m.app == app for m in MUTANTS) >= 15 and clauses == set(range(1, 12)), (app, clauses)


def test_the_data_holds_every_mutant_of_every_app_once() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    ran = {app for run in data["runs"] for app in run["apps"]}
    assert ran == set(APPS), f"the data has runs of {sorted(ran)}, not of every app"
    rows = sorted((m["app"], m["name"]) for m in data["mutants"])
    assert rows == sorted((m.app, m.name) for m in MUTANTS if m.app in ran)
    by_name = {(m.app, m.name): m for m in MUTANTS}
    for row in data["mutants"]:
        assert row["outcome"] in ("killed", "survived"), row
        mutant = by_name[row["app"], row["name"]]
        assert (row["clause"], row["sentence"]) == (mutant.clause, mutant.sentence), row["name"]


def test_the_page_gives_each_apps_kill_rate_and_lists_every_survivor() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    committed = json.loads((REPO / "docs" / "mutation" / "mutation.json").read_text(encoding="utf-8"))
    page = render(committed, independent=data)
    for app in {m["app"] for m in data["mutants"]}:
        rows = [m for m in data["mutants"] if m["app"] == app]
        killed = sum(m["outcome"] == "killed" for m in rows)
        assert f"{app} {killed} of {len(rows)} one-clause mutants killed" in page
    changed = copy.deepcopy(data)
    row = next(m for m in changed["mutants"] if m["outcome"] == "killed")
    row["outcome"] = "survived"
    survivors = render(committed, independent=changed).partition("### Survivors of the independent apps")[2]
    assert f"{row['app']} `{row['name']}` (clause {row['clause']}): {row['sentence']}" in survivors
    assert "Not killed, no reason declared" in survivors


def test_every_survivor_of_an_independent_app_says_why_the_suite_cannot_see_it() -> None:
    """A survivor is either killed by a test or declared unseen, with the reason (`Mutant.unseen`);
    a reason for a mutant the suite killed is refused."""
    data = json.loads(DATA.read_text(encoding="utf-8"))
    committed = json.loads((REPO / "docs" / "mutation" / "mutation.json").read_text(encoding="utf-8"))
    page = render(committed, independent=data)
    assert "Not killed, no reason declared" not in page
    unseen = {(m.app, m.name): m.unseen for m in MUTANTS if m.unseen}
    survivors = [m for m in data["mutants"] if m["outcome"] == "survived"]
    for m in survivors:
        assert f"Unseen: {unseen[m['app'], m['name']]}." in page, m["name"]
    stale = copy.deepcopy(data)
    row = next(m for m in stale["mutants"] if (m["app"], m["name"]) in unseen)
    row["outcome"] = "killed"
    with pytest.raises(ValueError, match=row["name"]):
        render(committed, independent=stale)


def test_node_address_check_agrees_with_email_validator(node_modules: Path) -> None:
    """Clause 8's email-validator, ported to the Node app: the same verdict on each address."""
    from email_validator import EmailNotValidError, validate_email

    addresses = [
        "you@example.com",
        "User@Example.COM",
        "a.b+c@example.org",
        "o'brien@example.co.uk",
        "x{y}|z~@example.com",
        "ü@exämple.com",
        "用户@例子.广告",
        "a@xn--exmple-cua.com",
        "a@ＥＸＡＭＰＬＥ.com",
        "a@example．com",
        "x" * 64 + "@example.com",
        "a@" + "b" * 63 + ".com",
        "café@example.com",
        "a\u0301@example.com",
        "",
        "a",
        "a@",
        "@example.com",
        "a@b",
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "a@localhost",
        "a@example.test",
        "a@x.invalid",
        "a@x.local",
        "a@x.onion",
        "a@1.arpa",
        '"a"@example.com',
        "a@[127.0.0.1]",
        "a@[IPv6:::1]",
        "A <a@example.com>",
        "a b@example.com",
        "a@exa_mple.com",
        "a@example.123",
        "a@ab--c.com",
        "a@-a.com",
        "a@a-.com",
        "a@example..com",
        "a@" + "b" * 64 + ".com",
        "a@b@example.com",
        "x" * 245 + "@example.com",
        "a\u200b@example.com",
        "a@ex\u00adample.com",
        "\u0301a@example.com",
        "a@example.com.",
        "a\u2028@example.com",
        "a@\u2460.com",
        "a\ue000@example.com",
    ]

    def python(address: str) -> bool:
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            return False
        return True

    script = (
        "const {checkAddress} = require('./checks');"
        "const out = JSON.parse(require('fs').readFileSync(0, 'utf8')).map((a) => {"
        "try { checkAddress(a); return true; } catch (e) { return false; } });"
        "process.stdout.write(JSON.stringify(out));"
    )
    run = subprocess.run(
        ["node", "-e", script],
        cwd=node_modules.parent,
        input=json.dumps(addresses),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr
    node = json.loads(run.stdout)
    differ = [(a, python(a), n) for a, n in zip(addresses, node, strict=True) if python(a) != n]
    assert not differ, f"(address, email-validator, the Node app) where they differ: {differ}"
