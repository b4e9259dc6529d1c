"""The matrix page's data: every property in a topic, each cell in words, each cell's evidence."""

from __future__ import annotations

import json
import tomllib

import pytest

from conformance.declared import changes, changes_for, properties
from conformance.render import timeline, versions_page
from docs_site import matrix
from docs_site.matrix import cell_text, summary, topics, where
from shared.axes import FRAMEWORKS, PYTHONS, SERVERS
from shared.servers import REPO

HISTORY = json.loads((REPO / "docs" / "versions" / "observed.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def data() -> dict:
    return matrix.data(None, HISTORY)


def _row(data: dict, name: str) -> dict:
    return next(r for r in data["rows"] if r["name"] == name)


def test_every_declared_property_is_in_exactly_one_topic() -> None:
    """... but a process manager's own, which are on the managers' page, not the matrix (lone servers)."""
    placed = [p for t in topics() for p in t.properties]
    assert sorted(placed) == sorted(name for name, prop in properties().items() if not prop.needs)
    assert {name for name, prop in properties().items() if prop.needs}  # there are such properties


def test_a_property_in_no_topic_stops_the_page() -> None:
    table = tomllib.loads(matrix.TOPICS.read_text(encoding="utf-8"))
    table["threads"]["properties"].remove("sync_task_pool")
    with pytest.raises(LookupError, match="sync_task_pool: in no topic"):
        topics(table)


def test_a_property_in_two_topics_stops_the_page() -> None:
    table = tomllib.loads(matrix.TOPICS.read_text(encoding="utf-8"))
    table["order"]["properties"].append("sync_task_pool")
    with pytest.raises(LookupError, match="sync_task_pool: in more than one topic"):
        topics(table)


def test_a_value_that_holds_everywhere_is_written_once() -> None:
    grid = {(s, v): "yes" for s in SERVERS for v in PYTHONS}
    assert summary(grid, list(SERVERS), list(PYTHONS)) == [("yes", "")]


def test_a_value_that_holds_on_most_servers_names_the_exceptions() -> None:
    grid = {(s, v): "no" if s == "granian" else "yes" for s in SERVERS for v in PYTHONS}
    assert summary(grid, list(SERVERS), list(PYTHONS)) == [("yes", ""), ("no", "on granian")]


def test_a_cell_the_server_decides_names_each_value_where_it_holds(data: dict) -> None:
    row = _row(data, "failed_task_closes_keepalive_connection")
    declared = {s: properties()[row["name"]].cell("fastapi", s).value for s in SERVERS}
    want = [
        ("yes" if v else "no", f"on {', '.join(s for s in SERVERS if declared[s] == v)}")
        for v in dict.fromkeys(declared.values())
    ]
    assert (
        cell_text(row, "fastapi")
        == want
        == [("yes", "on uvicorn, uvicorn-std"), ("no", "on hypercorn, granian")]
    )


def test_a_cell_the_python_decides_names_the_pythons(data: dict) -> None:
    assert cell_text(_row(data, "task_starts_after_response"), "quart") == [
        ("yes", ""),
        ("no", "on Python 3.11"),
    ]


def test_a_value_neither_a_server_nor_a_python_decides_alone_is_named_per_server() -> None:
    points = [("uvicorn", "3.11"), ("hypercorn", "3.11"), ("hypercorn", "3.12")]
    assert (
        where(points, list(SERVERS), list(PYTHONS))
        == "on uvicorn (Python 3.11); hypercorn (Python 3.11, 3.12)"
    )


def test_a_filtered_view_speaks_of_the_chosen_servers_only(data: dict) -> None:
    row = _row(data, "failed_task_closes_keepalive_connection")
    grid = {
        tuple(k.split("@")): row["cells"]["fastapi"]["declared"][i]["label"]
        for k, i in row["cells"]["fastapi"]["grid"].items()
    }
    assert summary(grid, ["hypercorn"], list(PYTHONS)) == [("no", "")]


def test_every_measured_cell_has_its_reason_pinned_source_and_wrong_probe(data: dict) -> None:
    for row in data["rows"]:
        for framework in FRAMEWORKS:
            for entry in row["cells"][framework].get("declared", []):
                if entry.get("kind") != "measured":
                    continue
                where_ = f"{row['name']}:{framework}"
                assert entry["why"] and entry["flip"], where_
                assert entry["source"].startswith("https://"), where_
                assert "/main/" not in entry["source"] and "/master/" not in entry["source"], where_


def test_the_evidence_measured_is_the_committed_run_with_its_versions(data: dict) -> None:
    newest = HISTORY["sets"]["newest"]
    row = next(
        r
        for r in newest["results"]
        if r["property"] == "tasks_run_sequentially" and r["framework"] == "quart"
    )
    measured = _row(data, "tasks_run_sequentially")["cells"]["quart"]["measured"]
    found = [m for m in measured if m["run"].startswith("nox -s history") and m["server"] == row["server"]]
    assert [m["value"] for m in found] == ["yes" if row["observed"] else "no"]
    assert f"quart {newest['installed']['quart']}" in found[0]["versions"]


def test_a_sweep_over_the_pythons_is_measured_evidence_on_each_python() -> None:
    rows = [
        {
            "tier": "semantics",
            "property": "tasks_run_sequentially",
            "framework": "quart",
            "server": "granian",
            "observed": True,
            "passed": False,
        }
    ]
    swept = {
        "pythons": {
            "3.13": {"versions": {"python": "3.13.0", "quart": "0.22.0", "granian": "2.5.0"}, "results": rows}
        }
    }
    measured = _row(matrix.data(swept, None), "tasks_run_sequentially")["cells"]["quart"]["measured"]
    assert measured == [
        {
            "run": "nox -s pythons",
            "file": "docs/pythons/observed.json",
            "python": "3.13",
            "server": "granian",
            "value": "yes",
            "passed": False,
            "versions": "Python 3.13.0, quart 0.22.0, granian 2.5.0",
        }
    ]


def test_a_recipe_is_evidence_of_the_cells_it_changes(data: dict) -> None:
    found = _row(data, "tasks_run_sequentially")["cells"]["quart"]["recipes"]
    assert ("quart_task_order", "yes") in [(r["name"], r["claims"][0]["value"]) for r in found]
    assert _row(data, "tasks_run_sequentially")["cells"]["fastapi"]["recipes"] == []


def test_the_durable_column_is_what_the_durable_table_declares(data: dict) -> None:
    assert cell_text(_row(data, "sync_task_thread"), "durable") == [("worker process", "")]
    assert cell_text(_row(data, "tasks_run_sequentially"), "durable") == [("-", "")]
    assert cell_text(_row(data, "redelivered_after_worker_sigkill"), "durable") == [("yes", "")]
    assert _row(data, "redelivered_after_worker_sigkill")["topic"] == "durable"


def test_one_value_has_one_colour_in_a_row_and_yes_and_no_have_their_own(data: dict) -> None:
    colours = _row(data, "sync_task_pool")["colours"]
    assert colours["anyio"] != colours["loop default executor"]
    colours = _row(data, "tasks_run_sequentially")["colours"]
    assert (colours["yes"], colours["no"], colours["-"]) == ("yes", "no", "none")


def test_a_timeline_has_an_era_per_declared_change_each_linked_to_its_source() -> None:
    steps = changes_for("middleware_task_exception_reaches_server", "starlette")
    (line,) = timeline("middleware_task_exception_reaches_server", "starlette", HISTORY)
    assert [e["since"] for e in line["eras"]] == [None, *(s.release for s in steps)]
    assert [e["source"] for e in line["eras"][1:]] == [s.source for s in steps]
    assert all(e["seen"] for e in line["eras"])  # history observed both sides of every change


def test_the_versions_page_has_a_bar_per_property_and_framework_linking_every_change() -> None:
    page = versions_page(HISTORY)
    pairs = {(c.property, f) for c in changes() for f in c.frameworks}
    assert page.count('<div class="afw-tl">') >= len(pairs)
    for c in changes():
        assert f'<a href="{c.source}"' in page, (c.property, c.release)


def test_the_page_embeds_the_data_its_script_reads() -> None:
    text = matrix.page(None, HISTORY)
    payload = text.split('id="afw-matrix-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(payload) == json.loads(json.dumps(matrix.data(None, HISTORY)))
    assert all(f'id="{name}"' in text for name, p in properties().items() if not p.needs)  # rows: anchors
