"""docs/reliability.md is what its committed data renders to, and says nothing the data does not."""

import copy
import json
import re

import pytest

from reliability.report import DATA, NOTES, render
from shared.servers import FRAMEWORKS, SERVERS


def data() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def test_committed_data_is_a_full_run_of_every_pair() -> None:
    d = data()
    pairs = {(r["framework"], r["server"]) for r in d["rows"]}
    assert pairs == {(f, s) for f in FRAMEWORKS for s in SERVERS} and d["run"]["hold_after_sigterm_s"] > 0
    checks = {p: frozenset(r["property"] for r in d["rows"] if (r["framework"], r["server"]) == p
                           and not r["property"].startswith("durable_")) for p in pairs}
    for framework in FRAMEWORKS:  # the same checks on every server (FastAPI and Litestar: a schema too)
        same = {checks[framework, server] for server in SERVERS}
        assert len(same) == 1, f"{framework}: a server lacks a check"
    assert all(r["passed"] and r["expected"] not in ("-", "measured") for r in d["rows"])


@pytest.mark.parametrize("break_it", [
    lambda row: row.update(passed=False),
    lambda row: row.update(expected="-"),  # recorded, never compared
])
def test_render_refuses_a_run_where_something_did_not_hold(break_it) -> None:
    broken = copy.deepcopy(data())
    break_it(broken["rows"][0])
    with pytest.raises(ValueError):
        render(broken)


def test_the_prose_follows_the_data() -> None:
    """The SIGTERM prose is built from the rows: change what was observed, the prose changes."""
    changed = copy.deepcopy(data())
    row = next(r for r in changed["rows"] if r["property"] == "sigterm_confirmed_defaults"
               and (r["framework"], r["server"]) == ("fastapi", "hypercorn"))
    row["observed"] = row["expected"] = "20/20 (async 10/10, def 10/10)"
    row["model"] = "no limit on the grace: all confirmed"
    lines = render(changed).splitlines()
    (bullet,) = [line for line in lines if "no limit on the grace" in line and not line.startswith("|")]
    assert "fastapi-hypercorn" in bullet
    assert not any("fastapi-hypercorn" in line and "grace 3 s" in line for line in lines)

def test_the_notes_cite_no_number_of_their_own() -> None:
    """Every number in the prose is a placeholder filled from the data, or a protocol's constant."""
    text = NOTES.read_text(encoding="utf-8")
    constants = {"127.0.0.1", "200", "201", "250", "400", "422", "451", "550", "1047", "8", "5xx", "4xx"}
    numbers = set(re.findall(r"(?<![\w$.])\d\w*(?:\.\d+)*", text)) - constants
    assert not numbers, f"numbers in reliability/notes.md not from the data: {sorted(numbers)}"


def test_the_default_time_out_is_stated_from_its_rows() -> None:
    d = data()
    rows = [r for r in d["rows"] if r["property"].startswith("smtp_default_time_out[")]
    assert len(rows) == 2 * len(FRAMEWORKS) * len(SERVERS)
    page = " ".join(render(d).split())
    low, high = min(r["seconds"] for r in rows), max(r["seconds"] for r in rows)
    assert f"from {low:.2f} to {high:.2f} s over {len(rows)} senders" in page
    slower = copy.deepcopy(d)
    for r in slower["rows"]:
        if r["property"].startswith("smtp_default_time_out["):
            r["seconds"] = 30.5
    assert "from 30.50 to 30.50 s over" in " ".join(render(slower).split())
    none = copy.deepcopy(d)
    none["rows"] = [r for r in none["rows"] if not r["property"].startswith("smtp_default_time_out[")]
    assert "by the app's own clock: not measured in this run" in " ".join(render(none).split())
