"""Every generated file is a view: one registry, one command, one staleness test.

A view is a function of the declared tables and the committed observations (JSON), never of
a live run: `python -m pages` (`nox -s pages`) rewrites every one of them in seconds without
starting a server, `python -m pages --check` names the stale ones, and
`tests/test_pages.py` fails while any is. A view of a whole file takes nothing; a view of a
block in a file (README's, pyproject's) takes the file's text and returns it with its block
made anew. Measurement sessions write their observations, then call `write()`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.servers import REPO

__all__ = ["View", "expected", "stale", "views", "write"]


@dataclass(frozen=True)
class View:
    path: str  # relative to the checkout
    make: Callable[[str], str]  # the file's current text -> the text it must have
    what: str  # in a few words, for `--check` and the docs


#: Where the committed data is read from (`REPO`, where the files are written, may be moved by a test).
DATA = REPO


def _data(path: str) -> Any:
    return json.loads((DATA / path).read_text(encoding="utf-8"))


def _whole(path: str, render: Callable[[], str], what: str) -> View:
    return View(path, lambda _text: render(), what)


def _semantics() -> str:
    from conformance.render import semantics_page

    swept = DATA / "docs" / "pythons" / "observed.json"
    return semantics_page(json.loads(swept.read_text(encoding="utf-8")) if swept.exists() else None)


def _differences(text: str) -> str:
    from conformance.render import with_differences

    return with_differences(text)


def _matrix() -> str:
    from docs_site.matrix import page

    swept = DATA / "docs" / "pythons" / "observed.json"
    return page(
        json.loads(swept.read_text(encoding="utf-8")) if swept.exists() else None,
        _data("docs/versions/observed.json"),
    )


def _versions() -> str:
    from conformance.history import OBSERVED
    from conformance.render import versions_page

    return versions_page(json.loads(OBSERVED.read_text(encoding="utf-8")))


def _contract() -> str:
    from conformance.sentences import page

    return page()


def _durable() -> str:
    from durable.render import page

    return page()


def _durable_diff(text: str) -> str:
    from durable.render import with_diff

    return with_diff(text)


def _mutation() -> str:
    from mutation.report import render

    return render(_data("docs/mutation/mutation.json"))


def _reliability() -> str:
    from durable.queues import reliability_section
    from reliability.report import render

    return render(_data("docs/reliability/reliability.json")) + "\n" + reliability_section(DATA / QUEUES)


#: The engine checks' observations (`nox -s durable`).
QUEUES = "docs/queues/observed"


def _queues() -> str:
    from durable.queues import page

    return page(DATA / QUEUES)


def _benchmarks() -> str:
    from bench.report import render

    return render(_data("docs/bench/bench.json"))


def _bench_readme(text: str) -> str:
    from bench.report import readme_text

    return readme_text(text, _data("docs/bench/bench.json"))


def _constant(text: str) -> Callable[[], str]:
    return lambda: text


def _site() -> list[View]:
    from docs_site.__main__ import pages

    return [
        _whole(str(path.relative_to(REPO)), _constant(text), "the site's page")
        for path, text in pages().items()
    ]


def _pyproject(text: str) -> str:
    from pages.pyproject import with_axes

    return with_axes(text)


def views() -> list[View]:
    return [
        _whole("docs/semantics.md", _semantics, "every property's table, from conformance/expected.toml"),
        View("README.md", _differences, "README's table of differences"),
        _whole("docs/matrix.md", _matrix, "the matrix page, from the declared tables and the committed runs"),
        _whole("docs/versions.md", _versions, "the timelines, from docs/versions/observed.json"),
        _whole("docs/contract.md", _contract, "the spec's sentences and their tests"),
        _whole("docs/durable.md", _durable, "the durable twins' diffs"),
        _whole("docs/queues.md", _queues, "which queue, from durable/engines.toml and docs/queues/observed"),
        View("README.md", _durable_diff, "README's durable diff"),
        _whole("docs/mutation.md", _mutation, "mutation, from docs/mutation/mutation.json"),
        _whole("docs/reliability.md", _reliability, "reliability, from docs/reliability/reliability.json"),
        _whole("docs/benchmarks.md", _benchmarks, "benchmarks, from docs/bench/bench.json"),
        View("README.md", _bench_readme, "README's bench headlines"),
        View("pyproject.toml", _pyproject, "the servers' extras and the Pythons' classifiers"),
        *_site(),
    ]


def expected(chosen: Iterable[View] | None = None) -> dict[Path, str]:
    """Every generated file's text, each file's views applied in the registry's order."""
    out: dict[Path, str] = {}
    for view in views() if chosen is None else chosen:
        path = REPO / view.path
        current = out.get(path)
        if current is None:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
        out[path] = view.make(current)
    return out


def stale() -> list[Path]:
    """Generated files whose committed text differs from their views', and stray move pages."""
    wanted = expected()
    out = [p for p, text in wanted.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    moves = REPO / "docs" / "moves"
    return out + sorted(set(moves.glob("*.md")) - set(wanted))


def write() -> list[Path]:
    """Write every view; returns the files that changed."""
    changed = []
    for path, text in expected().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
