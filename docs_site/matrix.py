"""The matrix page (`docs/matrix.md`): every declared property, grouped by topic, one column per
framework and one for the durable twins, each cell one click from its evidence.

A cell states its value once where it holds on every server and Python, and names the
exceptions otherwise (`no; yes on hypercorn, uvicorn-std`). Its evidence is the declared `why` and
pinned source of each distinct value (`conformance/expected.toml`), the value the last committed
runs measured with their versions (`docs/pythons/observed.json`, the sweep over the Pythons, and
the `newest` set of `docs/versions/observed.json`), the wrong probe that flips it
(`conformance/flips.toml`), the recipes that change it (`conformance/recipes.toml`) and its
releases as a timeline (`conformance/changes.toml`). The page is static: the table is written
here, and the page's own script (`docs/assets/matrix.js`) reads the same data, embedded in the
page as JSON, for the filters and the evidence. Nothing here is written for one cell.
"""

from __future__ import annotations

import html
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from conformance.declared import Cell, Property, properties
from conformance.flips import FLIPS, flip_for
from conformance.recipes import recipes
from conformance.render import (
    durable_properties,
    inline_html,
    palette,
    plain,
    short,
    timeline,
    timeline_html,
)
from shared.axes import FRAMEWORKS, PYTHONS, SERVERS

__all__ = ["COLUMNS", "TOPICS", "Topic", "data", "page", "summary", "topics", "where"]

TOPICS = Path(__file__).with_name("topics.toml")
#: The matrix's columns: the frameworks, then the durable twins (one value for the four).
COLUMNS = [*FRAMEWORKS, "durable"]
DURABLE_TOPIC = "durable"
#: A value the grid lacks (nothing declared there), as the page writes it.
NONE = "-"


@dataclass(frozen=True)
class Topic:
    name: str
    title: str
    properties: tuple[str, ...]


def topics(table: Mapping[str, Any] | None = None, declared: Sequence[str] | None = None) -> list[Topic]:
    """The topics of `topics.toml`; every declared property in exactly one, or a LookupError naming it."""
    table = tomllib.loads(TOPICS.read_text(encoding="utf-8")) if table is None else table
    # A process manager's own properties are on their page (docs/moves/managers.md), not the matrix's.
    declared = [n for n, p in properties().items() if not p.needs] if declared is None else list(declared)
    out = [Topic(name, body["title"], tuple(body.get("properties", ()))) for name, body in table.items()]
    placed = [p for t in out for p in t.properties]
    twice = sorted({p for p in placed if placed.count(p) > 1})
    missing = [p for p in declared if p not in placed]
    unknown = [p for p in placed if p not in declared]
    for names, what in (
        (twice, "in more than one topic"),
        (missing, "in no topic"),
        (unknown, "not a declared property"),
    ):
        if names:
            raise LookupError(f"{TOPICS.name}: {', '.join(names)}: {what} (conformance/expected.toml)")
    if not any(t.name == DURABLE_TOPIC for t in out):
        raise LookupError(f"{TOPICS.name}: no [{DURABLE_TOPIC}] topic for the durable twins' own properties")
    return out


def _label(cell: Cell | None) -> str:
    if cell is None:
        return NONE
    if cell.na:
        return "n/a"
    if cell.by_construction:
        return "by construction"
    return plain(cell.value)


def _measured_label(label: str) -> bool:
    return label not in (NONE, "n/a", "by construction")


def where(points: Sequence[tuple[str, str]], servers: Sequence[str], pythons: Sequence[str]) -> str:
    """Where a value holds, in words: `on hypercorn, uvicorn-std`, `on Python 3.12, 3.13`, or per server."""
    on = [s for s in servers if any(p[0] == s for p in points)]
    at = [v for v in pythons if any(p[1] == v for p in points)]
    if set(points) == {(s, v) for s in on for v in at}:
        if at == list(pythons):
            return f"on {', '.join(on)}"
        if on == list(servers):
            return f"on Python {', '.join(at)}"
        return f"on {', '.join(on)} with Python {', '.join(at)}"
    return "on " + "; ".join(f"{s} (Python {', '.join(v for v in pythons if (s, v) in points)})" for s in on)


def summary(
    grid: Mapping[tuple[str, str], str], servers: Sequence[str], pythons: Sequence[str]
) -> list[tuple[str, str]]:
    """A cell in words: [(value, where)], `where` empty for the value that holds on most of the
    servers and Pythons chosen (more than half of them); the others name where they hold.
    `docs/assets/matrix.js` (`summary`) does the same for the filtered views."""
    points = [(s, v) for s in servers for v in pythons]
    groups: dict[str, list[tuple[str, str]]] = {}
    for point in points:
        groups.setdefault(grid.get(point, NONE), []).append(point)
    if len(groups) == 1:
        return [(next(iter(groups)), "")]
    main = max(
        groups, key=lambda label: (_measured_label(label), len(groups[label]), -list(groups).index(label))
    )
    if 2 * len(groups[main]) <= len(points):
        return [(label, where(found, servers, pythons)) for label, found in groups.items()]
    return [(main, "")] + [
        (label, where(found, servers, pythons)) for label, found in groups.items() if label != main
    ]


def source_label(url: str) -> str:
    """A pinned source link's text: `starlette 1.10.0: starlette/responses.py#L168-L175`."""
    if not url.startswith("http"):
        return url
    parsed = urlparse(url)
    parts = parsed.path.strip("/").split("/")
    anchor = f"#{parsed.fragment}" if parsed.fragment else ""
    if parsed.netloc == "github.com" and len(parts) > 4 and parts[2] in ("blob", "tree"):
        return f"{parts[1]} {parts[3].removeprefix('v')}: {'/'.join(parts[4:])}{anchor}"
    if parsed.netloc == "docs.python.org":
        return f"Python {parts[0]} docs: {'/'.join(parts[1:])}{anchor}"
    return f"{parsed.netloc}{parsed.path}{anchor}"


def _declared(
    prop: Property, framework: str, flips: dict[str, Any]
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The cell's grid (`server@python` -> index) and its distinct declared entries, with their flips."""
    grid: dict[str, int] = {}
    entries: list[dict[str, Any]] = []
    for server in SERVERS:
        for python in PYTHONS:
            c = prop.cell(framework, server, python)
            flip = (
                flip_for(prop.name, framework, server, flips, python=python)
                if c is not None and c.measured
                else None
            )
            entry: dict[str, Any] = {"label": _label(c)}
            if c is not None:
                entry |= {
                    "kind": "na" if c.na else "construction" if c.by_construction else "measured",
                    "why": inline_html((c.na or c.by_construction or c.why).strip()),
                    "source": c.source,
                    "source_label": source_label(c.source),
                    "also": {k: short(v) for k, v in c.also.items()},
                    "tolerance": c.tolerance or None,
                    "flip": flip.describe() if flip else None,
                }
            if entry not in entries:
                entries.append(entry)
            grid[f"{server}@{python}"] = entries.index(entry)
    return grid, entries


def _runs(swept: Mapping[str, Any] | None, history: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The committed runs whose measurements the evidence shows: the last sweep over the Pythons, then
    the history's `newest` set (the newest releases, one server), each with its rows by cell."""
    from conformance.history import load_sets

    runs = []
    for python, run in ((swept or {}).get("pythons") or {}).items():
        runs.append(
            {
                "name": "nox -s pythons",
                "file": "docs/pythons/observed.json",
                "python": python,
                "versions": run.get("versions", {}),
                "results": run.get("results", []),
            }
        )
    newest = ((history or {}).get("sets") or {}).get("newest")
    if newest:
        sets = load_sets()[0]
        python = sets["newest"].python if "newest" in sets else next(iter(PYTHONS))
        runs.append(
            {
                "name": "nox -s history (set newest)",
                "file": "docs/versions/observed.json",
                "python": python,
                "versions": newest.get("installed", {}),
                "results": newest.get("results", []),
            }
        )
    return runs


def _versions(run: Mapping[str, Any], framework: str, server: str) -> str:
    found = run["versions"]
    names = [FRAMEWORKS[framework].package, *SERVERS[server].packages]
    python = found.get("python", run["python"])
    return ", ".join([f"Python {python}", *(f"{n} {found[n]}" for n in dict.fromkeys(names) if n in found)])


def _measured(runs: list[dict[str, Any]], prop: str, framework: str) -> list[dict[str, Any]]:
    out = []
    for run in runs:
        for row in run["results"]:
            if row.get("tier") != "semantics" or row["framework"] != framework:
                continue
            if row["property"].split("[")[0] != prop:
                continue
            out.append(
                {
                    "run": run["name"],
                    "file": run["file"],
                    "python": run["python"],
                    "server": row["server"],
                    "value": short(row["observed"]),
                    "passed": bool(row["passed"]),
                    "versions": _versions(run, framework, row["server"]),
                }
            )
    return out


def _recipes(prop: str, framework: str) -> list[dict[str, Any]]:
    out = []
    for recipe in recipes().values():
        claims: dict[str, list[str]] = {}
        whys: dict[str, str] = {}
        for server in SERVERS:
            claim = recipe.claim(prop, framework, server)
            if claim is not None:
                label = plain(claim["value"])
                claims.setdefault(label, []).append(server)
                whys[label] = inline_html(claim.get("why", ""))
        if claims:
            out.append(
                {
                    "name": recipe.name,
                    "title": inline_html(recipe.title),
                    "file": recipe.path.name,
                    "claims": [
                        {"value": label, "servers": on, "why": whys[label]} for label, on in claims.items()
                    ],
                }
            )
    return out


def _durable_rows() -> dict[str, dict[str, Any]]:
    return durable_properties()


def _durable_cell(prop: str) -> dict[str, Any]:
    """The durable column of a semantics property: what `durable/expected.toml` declares for it."""
    for name, body in _durable_rows().items():
        if prop in body.get("semantics", {}):
            return {"label": plain(body["semantics"][prop]), "declared": [_durable_entry(name, body)]}
    return {"label": NONE, "declared": []}


def _durable_entry(name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "property": name,
        "why": inline_html(" ".join(str(body.get("why", "")).split())),
        "source": body.get("source", ""),
        "source_label": source_label(body.get("source", "")),
        "measured_by": body.get("measured_by", ""),
    }


def _in_process(text: str) -> str:
    """A durable row's in-process cell: its text up to the first colon (the rest is its evidence)."""
    return text.split(": ", 1)[0]


def data(swept: Mapping[str, Any] | None = None, history: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything the page shows and its script reads: columns, axes, topics, and per row each cell's
    grid and evidence."""
    runs = _runs(swept, history)
    props = properties()
    flips = tomllib.loads(FLIPS.read_text(encoding="utf-8"))
    rows = []
    for topic in topics():
        for name in topic.properties:
            prop = props[name]
            cells: dict[str, Any] = {}
            lines: dict[str, list[dict[str, Any]]] = {}
            labels: list[str] = []
            for framework in FRAMEWORKS:
                grid, declared = _declared(prop, framework, flips)
                labels += [e["label"] for e in declared]
                lines[framework] = timeline(name, framework, history)
                cells[framework] = {
                    "grid": grid,
                    "declared": declared,
                    "measured": _measured(runs, name, framework),
                    "recipes": _recipes(name, framework),
                }
                labels += [e["value"] for line in lines[framework] for e in line["eras"]]
            cells["durable"] = _durable_cell(name)
            labels.append(cells["durable"]["label"])
            colours = palette(labels)
            for framework in FRAMEWORKS:
                cells[framework]["history"] = timeline_html(lines[framework], colours)
            rows.append(
                {
                    "name": name,
                    "topic": topic.name,
                    "meaning": inline_html(prop.meaning.strip()),
                    "values": inline_html(prop.values.strip()),
                    "colours": colours,
                    "cells": cells,
                }
            )
    for name, body in _durable_rows().items():
        value = plain(body["value"])
        in_process = " ".join(str(body.get("in_process", "")).split())
        cells = {
            f: {"label": _in_process(in_process), "in_process": inline_html(in_process)} for f in FRAMEWORKS
        }
        cells["durable"] = {"label": value, "declared": [_durable_entry(name, body)]}
        rows.append(
            {
                "name": name,
                "topic": DURABLE_TOPIC,
                "meaning": "",
                "values": "",
                "colours": palette([value, _in_process(in_process)]),
                "cells": cells,
                "durable_only": True,
            }
        )
    return {
        "columns": [{"name": f, "title": FRAMEWORKS[f].title} for f in FRAMEWORKS]
        + [{"name": "durable", "title": "Durable"}],
        "servers": list(SERVERS),
        "pythons": list(PYTHONS),
        "runs": [{k: r[k] for k in ("name", "file", "python", "versions")} for r in runs],
        "topics": [{"name": t.name, "title": t.title} for t in topics()],
        "rows": rows,
    }


def _grid(cell: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    labels = [e["label"] for e in cell["declared"]]
    return {tuple(k.split("@", 1)): labels[i] for k, i in cell["grid"].items()}  # type: ignore[misc]


def cell_text(row: Mapping[str, Any], column: str) -> list[tuple[str, str]]:
    """A cell as the page first shows it (every server and Python): [(value, where)]."""
    cell = row["cells"][column]
    if "grid" in cell:
        return summary(_grid(cell), list(SERVERS), list(PYTHONS))
    return [(cell["label"], "")]


def _chips(row: Mapping[str, Any], column: str) -> str:
    out = []
    for label, at in cell_text(row, column):
        colour = row["colours"].get(label, "none")
        at_html = f' <span class="afw-at">{html.escape(at)}</span>' if at else ""
        out.append(f'<span class="afw-v afw-v-{colour}"><b>{html.escape(label)}</b>{at_html}</span>')
    return "".join(out)


def _row(row: Mapping[str, Any]) -> str:
    name = row["name"]
    head = (
        f'<th scope="row"><a class="afw-prop" href="#{name}">{html.escape(name).replace("_", "_<wbr>")}</a>'
        "</th>"
    )
    tds = []
    for column in COLUMNS:
        chips = _chips(row, column)
        cell = row["cells"][column]
        clickable = "grid" in cell or cell.get("declared") or cell.get("in_process")
        inner = (
            f'<button type="button" class="afw-cell" data-cell="{name}:{column}" '
            f'aria-label="{html.escape(name)}, {column}: evidence">{chips}</button>'
            if clickable
            else chips
        )
        tds.append(f'<td data-col="{column}">{inner}</td>')
    return f'<tr id="{name}" data-topic="{row["topic"]}">{head}{"".join(tds)}</tr>'


def _filters(columns: Sequence[Mapping[str, str]]) -> str:
    def boxes(name: str, legend: str, values: Sequence[tuple[str, str]]) -> str:
        inputs = "".join(
            f'<label><input type="checkbox" name="{name}" value="{v}" checked> {html.escape(t)}</label>'
            for v, t in values
        )
        return f"<fieldset><legend>{legend}</legend>{inputs}</fieldset>"

    return (
        '<details class="afw-filters-box" id="afw-filters-box" hidden><summary>Filters</summary>'
        '<form class="afw-filters" id="afw-filters">'
        + boxes("column", "Columns", [(c["name"], c["title"]) for c in columns])
        + boxes("server", "Servers", [(s, s) for s in SERVERS])
        + boxes("python", "Python", [(v, v) for v in PYTHONS])
        + '<fieldset><legend>Rows</legend><label><input type="checkbox" name="differ"> only where they differ'
        '</label><label class="afw-search">property <input type="search" name="q" '
        'placeholder="e.g. sigterm" autocomplete="off"></label></fieldset>'
        + '<p class="afw-status"><span id="afw-count"></span> <a id="afw-link" href="#">link to this view</a>'
        ' <button type="button" id="afw-reset">show all</button></p></form></details>'
    )


def page(swept: Mapping[str, Any] | None = None, history: Mapping[str, Any] | None = None) -> str:
    found = data(swept, history)
    head = "".join(
        f'<th scope="col" data-col="{c["name"]}">{html.escape(c["title"])}</th>' for c in found["columns"]
    )
    bodies = []
    for topic in found["topics"]:
        rows = [r for r in found["rows"] if r["topic"] == topic["name"]]
        bodies.append(
            f'<tbody data-topic="{topic["name"]}"><tr class="afw-topic"><th colspan="{len(COLUMNS) + 1}" '
            f'scope="colgroup" id="topic-{topic["name"]}">{html.escape(topic["title"])}</th></tr>'
            + "".join(_row(r) for r in rows)
            + "</tbody>"
        )
    table = (
        f'<table class="afw-m" id="afw-m" style="--afw-cols: {len(COLUMNS)}"><thead><tr>'
        f'<th scope="col" class="afw-corner">property</th>{head}</tr></thead>{"".join(bodies)}</table>'
    )
    payload = json.dumps(found, ensure_ascii=False, sort_keys=False, separators=(",", ":")).replace(
        "</", "<\\/"
    )
    runs = (
        ", ".join(dict.fromkeys(f"`{r['name']}` (`{r['file']}`)" for r in found["runs"])) or "none committed"
    )
    return "\n".join(
        [
            "---",
            "hide:",
            "  - toc",
            "---",
            "",
            "# The matrix",
            "",
            "<!-- generated by `python -m pages` from conformance/expected.toml, flips.toml, recipes.toml, "
            "changes.toml, durable/expected.toml and the committed runs; do not edit by hand -->",
            "",
            f"What the background tasks of {', '.join(c['title'] for c in found['columns'][:-2])} and "
            f"{found['columns'][-2]['title']} do after the response, and what the durable twins do instead. "
            "A value holds on every server and Python unless its cell names where; a value opens its "
            "evidence. [How to read it](#how-to-read-it).",
            "",
            '<div class="afw-matrix" markdown="0">',
            _filters(found["columns"]),
            '<noscript><p>The filters and the evidence need JavaScript; <a href="../semantics/">the '
            "semantics page</a> has every cell's evidence without it.</p></noscript>",
            table,
            '<dialog class="afw-evidence" id="afw-evidence" aria-labelledby="afw-ev-title">'
            '<form method="dialog">'
            '<button class="afw-close" value="close" aria-label="close">×</button></form>'
            '<div id="afw-ev-body"></div></dialog>',
            "</div>",
            "",
            f'<script type="application/json" id="afw-matrix-data">{payload}</script>',
            "",
            "## How to read it",
            "",
            "Rows are properties, grouped by what they are about; columns are the frameworks, then the "
            "durable twins (Celery on Redis, one value for the four, `durable/expected.toml`). A value is "
            f"written once where it holds on every server ({', '.join(SERVERS)}) and Python "
            f"({', '.join(PYTHONS)}); where it does not, each value names where it holds. Each value has its "
            "colour and its text: blue `yes`, orange `no`, grey `n/a`, and one colour for each other value "
            "within a row. `-`: nothing is declared there.",
            "",
            "A value opens its evidence: the declared reason with its source pinned to the release measured "
            "(`conformance/expected.toml`), what the last committed runs measured, with their versions "
            f"({runs}), the wrong probe that the suite must report as a mismatch (`conformance/flips.toml`, "
            "`nox -s flips`), the recipes that change the cell (`conformance/recipes.toml`) and its releases "
            "as a timeline (`conformance/changes.toml`, [versions](versions.md)). The filters narrow the "
            "columns, servers and Pythons, and keep only the rows whose shown values differ; the address "
            "then holds the view (and the open cell), a link that reopens it. Every property's full table "
            "is on [the semantics page](semantics.md).",
            "",
        ]
    )
