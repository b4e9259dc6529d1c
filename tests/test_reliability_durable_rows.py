"""docs/reliability.md's durable section is built from the durable rows of its data."""

import copy
import json

from reliability.report import DATA, render


def data() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def test_committed_data_has_every_durable_case_on_every_pair() -> None:
    rows = [r for r in data()["rows"] if r["property"].startswith("durable_sigkill_")]
    cases = {(r["framework"], r["server"], r["property"]) for r in rows}
    assert len(cases) == 8 * 3 * 2  # pairs x (web, worker, redis) x (lost, duplicates)


def test_the_durable_table_follows_the_data() -> None:
    changed = copy.deepcopy(data())
    row = next(r for r in changed["rows"] if r["property"] == "durable_sigkill_redis_duplicates"
               and (r["framework"], r["server"]) == ("quart", "hypercorn"))
    row["observed"] = row["expected"] = 3
    (line,) = [line for line in render(changed).splitlines() if line.startswith("| quart-hypercorn |")
               and "lost," in line]
    assert line.endswith("| 0/20 lost, 3 duplicated |")


def test_a_page_without_durable_rows_has_no_durable_section() -> None:
    changed = copy.deepcopy(data())
    changed["rows"] = [r for r in changed["rows"] if not r["property"].startswith("durable_")]
    assert "## Durable" not in render(changed)
