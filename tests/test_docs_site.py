"""The site's generated pages: fresh, every app line under a role, every change explained."""

from __future__ import annotations

import pytest

from conformance.declared import properties
from docs_site import moves, sidebyside
from shared.servers import FRAMEWORKS


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_every_line_of_every_app_is_under_a_role(framework: str) -> None:
    assert sidebyside.uncovered(framework) == []
    assert all(sidebyside.lines_by_role(framework)[key] for key in ("dependency", "route", "task", "errors"))


def test_a_line_no_role_claims_stops_the_side_by_side_page() -> None:
    source = sidebyside.app_path("fastapi").read_text(encoding="utf-8") + "\n\ndef stray():\n    pass\n"
    lines = len(source.splitlines())
    assert sidebyside.uncovered("fastapi", source) == [lines - 1, lines]


def test_an_app_without_the_shared_skeleton_stops_the_side_by_side_page() -> None:
    source = sidebyside.app_path("quart").read_text(encoding="utf-8").replace("def get_query", "def query")
    with pytest.raises(LookupError, match="get_query"):
        sidebyside.lines_by_role("quart", source)


def test_every_ordered_pair_of_frameworks_has_a_move_page() -> None:
    from docs_site.__main__ import DOCS, pages

    move_pages = [p for p in pages() if p.parent == DOCS / "moves" and "-to-" in p.name]
    assert len(move_pages) == len(FRAMEWORKS) * (len(FRAMEWORKS) - 1) == 12


def test_the_servers_page_shows_each_framework_what_the_server_decides() -> None:
    page = moves.servers_page()
    assert all(f"## {title}" in page for title in moves.TITLES.values())
    # uvicorn waits without limit at SIGTERM, hypercorn 3 s, granian not at all: a row per framework
    row = [line for line in page.splitlines() if line.startswith("| [`sigterm_default_grace_seconds`]")]
    assert len(row) == 3 and all("`unbounded`" in r and "`3`" in r and "`0`" in r for r in row)
    assert "sigterm_default_grace_seconds" not in page.split("## Quart")[1]  # Quart's own 5 s everywhere
    assert "[`async_task_thread`]" not in page  # the event loop on every server


def test_every_change_on_every_move_says_what_it_breaks() -> None:
    for old, new in moves.moves():
        for change in moves.changes(old, new):
            assert change.breaks, (old, new, change.prop.name)


def test_a_change_without_a_sentence_stops_the_pages() -> None:
    with pytest.raises(LookupError, match="tasks_run_sequentially"):
        moves.breaks_for("tasks_run_sequentially", "maybe")


def test_a_move_page_lists_what_the_declared_table_says_changes() -> None:
    changed = {c.prop.name for c in moves.changes("fastapi", "quart")}
    assert {"tasks_run_sequentially", "failed_task_skips_later_tasks"} <= changed
    assert "async_task_thread" not in changed  # the event loop in both
    assert all(p in properties() for p in changed)


def test_a_move_page_offers_the_recipe_that_keeps_the_old_value() -> None:
    found = moves.changes("fastapi", "quart")
    names = {recipe.name for recipe, _ in moves.relevant_recipes("fastapi", "quart", found)}
    assert "quart_task_order" in names
    assert "starlette_keep_going" not in names  # a recipe for another framework


def test_a_page_edited_by_hand_or_left_behind_is_stale(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import docs_site.__main__ as site

    monkeypatch.setattr(site, "DOCS", tmp_path)
    for path, text in site.pages().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert site.stale() == []
    edited = tmp_path / "side-by-side.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nby hand\n", encoding="utf-8")
    left_behind = tmp_path / "moves" / "flask-to-quart.md"
    left_behind.write_text("# Flask → Quart\n", encoding="utf-8")
    assert site.stale() == [edited, left_behind]
