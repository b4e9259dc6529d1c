"""Every generated file is its view of the committed tables and data: one registry, one test."""

from __future__ import annotations

import subprocess
import sys

import pages
from pages import View, expected, stale
from shared.servers import REPO


def test_no_generated_file_is_stale() -> None:
    found = [str(p.relative_to(REPO)) for p in stale()]
    assert found == [], f"stale: {', '.join(found)}: run `nox -s pages` (`python -m pages`), commit them"


def test_every_page_a_session_used_to_write_is_in_the_registry() -> None:
    paths = {p.relative_to(REPO).as_posix() for p in expected()}
    for path in ("docs/semantics.md", "docs/versions.md", "docs/contract.md", "docs/durable.md",
                 "docs/mutation.md", "docs/reliability.md", "docs/benchmarks.md", "docs/index.md",
                 "docs/side-by-side.md", "docs/recipes.md", "docs/moves/servers.md", "README.md",
                 "pyproject.toml"):
        assert path in paths, path


def test_an_edited_block_is_stale_and_written_back(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """A hand edit inside README's generated table is found, and `write()` puts the view back."""
    readme = tmp_path / "README.md"
    text = (REPO / "README.md").read_text(encoding="utf-8")
    edited = text.replace("| property | fastapi |", "| property | FastAPI (edited) |")
    assert edited != text
    readme.write_text(edited, encoding="utf-8")
    only = [v for v in pages.views() if v.path == "README.md"]
    monkeypatch.setattr(pages, "REPO", tmp_path)
    monkeypatch.setattr(pages, "views", lambda: only)
    assert stale() == [readme]
    assert pages.write() == [readme]
    assert readme.read_text(encoding="utf-8") == text and stale() == []


def test_views_of_one_file_apply_in_turn(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(pages, "REPO", tmp_path)
    (tmp_path / "f.txt").write_text("a")
    chain = [View("f.txt", lambda t: t + "b", "one"), View("f.txt", lambda t: t + "c", "two")]
    assert expected(chain) == {tmp_path / "f.txt": "abc"}


def test_the_command_checks_without_starting_a_server() -> None:
    command = [sys.executable, "-m", "pages", "--check"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 stale" in done.stdout
