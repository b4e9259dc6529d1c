"""docs/reliability.md's durable section is built from the durable rows of its data."""

import copy
import json

from reliability.report import DATA, render


def data() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def test_committed_data_has_every_durable_case_on_every_pair() -> None:
    from reliability.test_durable import SIGTERM_TARGETS, TARGETS
    from shared.servers import FRAMEWORKS, SERVERS

    pairs = len(FRAMEWORKS) * len(SERVERS)
    # Each target's (lost, duplicates); the hung broker's new and open connection.
    for kind, per_pair in (("durable_sigkill_", len(TARGETS) * 2),
                           ("durable_sigterm_", len(SIGTERM_TARGETS) * 2), ("durable_hung_broker_", 2)):
        rows = [r for r in data()["rows"] if r["property"].startswith(kind)]
        assert len({(r["framework"], r["server"], r["property"]) for r in rows}) == pairs * per_pair, kind


def section(page: str, heading: str) -> list[str]:
    """The lines under `heading`, up to the next heading."""
    lines = page.splitlines()
    start = lines.index(heading) + 1
    end = next((n for n in range(start, len(lines)) if lines[n].startswith("#")), len(lines))
    return lines[start:end]


def test_the_durable_table_follows_the_data() -> None:
    changed = copy.deepcopy(data())
    row = next(r for r in changed["rows"] if r["property"] == "durable_sigkill_redis_duplicates"
               and (r["framework"], r["server"]) == ("quart", "hypercorn"))
    row["observed"] = row["expected"] = 3
    (line,) = [line for line in section(render(changed), "## Durable: the same apps on Celery and Redis")
               if line.startswith("| quart-hypercorn |")]
    assert line.endswith("| 0/20 lost, 3 duplicated |")


def test_a_page_without_durable_rows_has_no_durable_section() -> None:
    changed = copy.deepcopy(data())
    changed["rows"] = [r for r in changed["rows"] if not r["property"].startswith("durable_")]
    assert "## Durable" not in render(changed)


def with_rows(base: dict, pair: tuple[str, str], rows: dict[str, dict]) -> dict:
    """The committed data with its SIGTERM and hung-broker rows replaced by `rows` (property -> row
    fields), for one pair."""
    changed = copy.deepcopy(base)
    changed["rows"] = [r for r in changed["rows"]
                       if not r["property"].startswith(("durable_sigterm_", "durable_hung_broker_"))]
    for prop, fields in rows.items():
        changed["rows"].append({"framework": pair[0], "server": pair[1], "property": prop, "passed": True,
                                **fields})
    return changed


def test_the_sigterm_table_follows_the_data() -> None:
    """A SIGTERM row in the data is a cell of its pair's line, in its target's column."""
    targets = ("web", "worker", "worker_group", "worker_group_celery_defaults")
    rows = {}
    for n, target in enumerate(targets):
        rows[f"durable_sigterm_{target}_in_flight_lost"] = {"expected": "0/20", "observed": "0/20",
                                                           "mid_send_at_stop": 4}
        rows[f"durable_sigterm_{target}_duplicates"] = {"expected": n, "observed": n}
    page = render(with_rows(data(), ("starlette", "granian"), rows))
    (line,) = [line for line in section(page, "### SIGTERM: a deploy's stop")
               if line.startswith("| starlette-granian |")]
    assert line == ("| starlette-granian | 0/20 lost, 0 duplicated | 0/20 lost, 1 duplicated | "
                    "0/20 lost, 2 duplicated | 0/20 lost, 3 duplicated |")
    assert "3 duplicated per pair" in page


def test_the_hung_broker_table_follows_the_data() -> None:
    rows = {f"durable_hung_broker_{case}": {"expected": "e", "observed": f"o-{case}", "seconds": t,
                                            "bound": 8} for case, t in (("new", 4.25), ("open", 4.5))}
    page = render(with_rows(data(), ("litestar", "uvicorn-std"), rows))
    assert "| litestar-uvicorn-std | o-new (4.25 s) | o-open (4.50 s) |" in page.splitlines()
    assert "came after 4.25 to 4.50 s" in page


def test_durable_rows_from_several_runs_say_so() -> None:
    """Rows merged from runs of their own name each run's time (`merges` whose rows were all durable)."""
    changed = copy.deepcopy(data())
    changed["run"]["merges"] = [m for m in changed["run"].get("merges", []) if not m["durable"]] + [
        {"args": "--server uvicorn -k durable", "seconds": 61, "durable": True},
        {"args": "--server granian -k durable", "seconds": 125, "durable": True}]
    assert "from 2 runs of their own (1 min 1 s and 2 min 5 s), merged into the data." in render(changed)
