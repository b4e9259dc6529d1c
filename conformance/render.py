"""What users read: the terminal matrix and `docs/semantics.md`, from rows and the declared table."""

from __future__ import annotations

import os
from collections import defaultdict
from importlib import metadata
from typing import Any

from conformance.declared import changes, changes_for, properties
from conformance.flips import flip_for
from shared.axes import PYTHONS
from shared.servers import FRAMEWORKS, MANAGERS, PYTHON_ENV, RUNNABLE, SERVERS, python

__all__ = [
    "PACKAGES",
    "changed_in",
    "differences",
    "matrix",
    "palette",
    "plain",
    "semantics_page",
    "short",
    "timeline",
    "timeline_html",
    "versions",
    "versions_page",
    "with_differences",
]

#: The distributions whose versions a report records: the frameworks', the servers', the rest.
PACKAGES = tuple(
    dict.fromkeys(
        [
            *(f.package for f in FRAMEWORKS.values()),
            *(p for s in RUNNABLE.values() for p in s.packages),
            *("anyio", "aiosmtplib", "aiosmtpd", "email-validator", "httpx"),
        ]
    )
)


_VERSIONS = """
import json, platform, sys
from importlib import metadata
out = {"python": platform.python_version()}
for name in sys.argv[1:]:
    try:
        out[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        out[name] = "not installed"
print(json.dumps(out))
"""


def versions() -> dict[str, str]:
    """The Python and the packages the servers ran with: this interpreter's, or the one
    `AFTERWARD_PYTHON` names (`afterward-conformance --python`)."""
    import json
    import subprocess
    import sys

    if os.environ.get(PYTHON_ENV):
        done = subprocess.run(
            [python(), "-c", _VERSIONS, *PACKAGES], capture_output=True, text=True, check=True
        )
        return dict(json.loads(done.stdout))
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def short(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, str) and value.startswith("n/a"):
        return "n/a"
    if isinstance(value, str) and value.startswith("by construction"):
        return "by construction"
    return str(value)


def _pairs(rows: list[dict[str, Any]]) -> list[str]:
    seen = {f"{r['framework']}-{r['server']}" for r in rows}
    order = [f"{f}-{s}" for f in FRAMEWORKS for s in SERVERS]
    return [p for p in order if p in seen] + sorted(seen - set(order))


#: The terminal is this wide; the matrix is cut into blocks of pairs that fit it.
WIDTH = 120
CELL = 6


def _abbreviation(pair: str) -> str:
    """`fa-uv` for fastapi-uvicorn; a hyphenated server by its parts' initials: `fa-us` for
    fastapi-uvicorn-std."""
    framework, _, server = pair.partition("-")
    parts = server.split("-")
    return f"{framework[:2]}-{server[:2] if len(parts) == 1 else ''.join(p[0] for p in parts)}"


#: Long values in the terminal's matrix, and what they are shortened to.
ABBREVIATIONS = {
    "event loop": "loop",
    "worker thread": "thread",
    "unbounded": "unbnd",
    "response only": "resp",
    "handler only": "handlr",
    "by construction": "constr",
    "endpoint fails (500)": "fails",
    "function: before, request: after": "f<t<r",
}


def _fit(text: str, width: int = CELL) -> str:
    text = ABBREVIATIONS.get(text, text)
    return text if len(text) <= width else text[: width - 1] + "~"


def matrix(rows: list[dict[str, Any]], width: int = WIDTH) -> list[str]:
    """Properties x pairs, in blocks of pairs that fit `width` columns. Contract properties
    collapse to pass/FAIL; a cell that differs from its declaration ends in `!` (the lines
    after the matrix say what was observed and declared); long values are cut (`~`): the
    JSON report and docs/semantics.md have them whole."""
    pairs = _pairs(rows)
    cells: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    names: dict[str, None] = {}
    for r in rows:
        name = f"{r['tier'][0].upper()} {r['property'].split('[')[0]}"
        names[name] = None
        cells[name, f"{r['framework']}-{r['server']}"].append(r)

    def text(found: list[dict[str, Any]]) -> str:
        if not found:
            return "-"
        if found[0]["tier"] == "contract":
            if all(r["observed"] == "n/a" for r in found):
                return "n/a"
            return "pass" if all(r["passed"] for r in found) else "FAIL!"
        r = found[0]
        return _fit(short(r["observed"])) if r["passed"] else _fit(short(r["observed"]), CELL - 1) + "!"

    label = max([len(n) for n in names] + [8])
    per_block = max(1, (width - label - 1) // (CELL + 1))
    servers = len({p.partition("-")[2] for p in pairs})
    if per_block > servers:  # whole frameworks per block: each block shows every server of them
        per_block -= per_block % servers
    lines: list[str] = []
    for start in range(0, len(pairs), per_block):
        block = pairs[start : start + per_block]
        header = " " * label + " " + " ".join(_abbreviation(p).rjust(CELL) for p in block)
        lines += ["" if start else header[:0], header, "-" * len(header)][0 if start else 1 :]
        for name in names:
            lines.append(name.ljust(label) + " " + " ".join(text(cells[name, p]).rjust(CELL) for p in block))
    legend = [
        "C = contract tier, S = semantics tier; x! = observed x, not as declared; ~ = cut;",
        *(f"{_abbreviation(p)} = {p}" for p in pairs),
        *(f"{v} = {k}" for k, v in ABBREVIATIONS.items() if any(short(r["observed"]) == k for r in rows)),
    ]
    line = ""
    for part in legend:
        if line and len(line) + len(part) + 2 > width:
            lines.append(line)
            line = ""
        line = f"{line}, {part}" if line and not line.endswith(";") else f"{line} {part}".strip()
    return lines + [line]


def durable_properties() -> dict[str, dict[str, Any]]:
    from durable.declared import properties as declared

    return declared()


def _md_value(value: Any) -> str:
    if isinstance(value, str) and value.startswith("="):
        return f"`{value[1:]}`"
    return f"`{short(value)}`"


def _label(c: Any) -> str:
    return (
        "" if c is None else "n/a" if c.na else "by construction" if c.by_construction else _md_value(c.value)
    )


def by_python(prop: Any, framework: str, server: str) -> list[tuple[list[str], Any]]:
    """The property's cells on each Python of the axis, grouped by cell: [(pythons, cell), ...]
    in the axis' order; one group when the Python makes no difference."""
    groups: list[tuple[list[str], Any]] = []
    for version in PYTHONS:
        c = prop.cell(framework, server, version)
        same = next((g for g in groups if g[1] == c), None)
        if same is None:
            groups.append(([version], c))
        else:
            same[0].append(version)
    return groups


def _with_pythons(prop: Any, framework: str, server: str) -> str:
    """A matrix cell: its value, or each Python's where they differ (`no` (3.11)<br>`yes` (3.12, 3.13))."""
    groups = by_python(prop, framework, server)
    if len(groups) == 1:
        return _label(groups[0][1])
    return "<br>".join(f"{_label(c)} ({', '.join(v)})" for v, c in groups)


def _swept(pythons: dict[str, Any] | None) -> list[str]:
    """The page's line on the last sweep over the Pythons (`nox -s pythons`), from its record."""
    if not pythons or not pythons.get("pythons"):
        return []
    runs = pythons["pythons"]
    cells = sum(len(r["results"]) for r in runs.values())
    bad = sum(not row["passed"] for r in runs.values() for row in r["results"])
    versions = ", ".join(r["versions"].get("python", v) for v, r in runs.items())
    return [
        "The last sweep over the Pythons (`nox -s pythons`, `docs/pythons/observed.json`) ran both tiers on",
        f"Python {versions}: {cells} cells, {bad} mismatches. A cell whose value depends on the Python",
        "gives each Python's value, and a row of its own below.",
        "",
    ]


def semantics_page(pythons: dict[str, Any] | None = None) -> str:
    """`docs/semantics.md`, rendered from the declared table (a green run observed each cell) and
    the record of the last sweep over the Pythons."""
    props = properties()
    out = [
        "# What happens after the response: every cell, property by property",
        "",
        "<!-- Generated by `python -m pages` from conformance/expected.toml. Do not edit. -->",
        "",
        "Every cell below was measured on a real server process by `nox -s conformance`, which",
        "fails when an observation differs from this table. Versions of the last run are in",
        "`reports/conformance.json`. `n/a` cells give the reason the property does not apply;",
        "`by construction` cells are decided by the probe's own code, so they are not measured.",
        "Each measured cell names its wrong probe (`conformance/flips.toml`): the knobs or setting",
        "under which the probe behaves otherwise, which `nox -s flips` runs to check that the",
        "suite reports the cell as a mismatch every time. Numbers with a tolerance are compared",
        "within it; the run reports what it measured.",
        "",
        "[The matrix](matrix.md) shows these values by topic, a column per framework and one for the",
        "durable twins (Celery on Redis, `durable/expected.toml`), each value once where it holds on every",
        "server and Python, each cell one click from its evidence. Below, every property's full table.",
        "",
        *_swept(pythons),
    ]
    for prop in props.values():
        out += [
            "",
            f"## {prop.name}",
            "",
            prop.meaning.strip(),
            "",
            f"Values: {prop.values.strip()}",
            "",
            changed_in(prop.name),
            "",
        ]
        if prop.tolerance:
            out += [f"Tolerance: ±{prop.tolerance:g}", ""]
        if prop.needs:  # a process manager's own: its rows are the managers' (lone servers: n/a)
            out += [
                "Measured under the process managers (`nox -s managers`); a lone server: n/a. "
                "[Between process managers](moves/managers.md).",
                "",
            ]
        out += ["| framework | server | value | why | source | wrong probe |", "|---|---|---|---|---|---|"]
        for f in FRAMEWORKS:
            for s in MANAGERS if prop.needs else SERVERS:
                groups = by_python(prop, f, s)
                for versions, c in groups:
                    if c is None:
                        continue
                    value = c.unmeasured_reason if not c.measured else _md_value(c.value)
                    if c.also:
                        value += "; " + ", ".join(f"{k} `{v}`" for k, v in c.also.items())
                    source = f"[link]({c.source})" if c.source.startswith("http") else c.source
                    flip = flip_for(prop.name, f, s, python=versions[0]) if c.measured else None
                    wrong = flip.describe().replace("|", "\\|") if flip else "none"
                    where = s if len(groups) == 1 else f"{s} on Python {', '.join(versions)}"
                    out.append(f"| {f} | {where} | {value} | {c.why.strip()} | {source} | {wrong} |")
    return "\n".join(out) + "\n"


README_BLOCK = ("<!-- semantics:differences -->", "<!-- /semantics:differences -->")


def differences() -> str:
    """README's table of the properties on which the frameworks (or servers) differ, from the
    declared table that every `nox -s conformance` checks."""
    out = ["| property | " + " | ".join(FRAMEWORKS) + " |", "|---|" + "---|" * len(FRAMEWORKS)]
    for prop in properties().values():
        shown = {(f, s): _with_pythons(prop, f, s) or "n/a" for f in FRAMEWORKS for s in SERVERS}
        measured = {_label(c) for f in FRAMEWORKS for s in SERVERS for _, c in by_python(prop, f, s)} - {
            "",
            "n/a",
            "by construction",
        }
        if len(measured) < 2:
            continue
        row = []
        for f in FRAMEWORKS:
            per_server = {s: shown[f, s] for s in SERVERS}
            if len(set(per_server.values())) == 1:
                row.append(next(iter(per_server.values())))
            else:
                row.append("<br>".join(f"{v} ({s})" for s, v in per_server.items()))
        out.append(f"| [`{prop.name}`](docs/semantics.md#{prop.name}) | " + " | ".join(row) + " |")
    return "\n".join([README_BLOCK[0], *out, README_BLOCK[1]])


def with_differences(readme: str) -> str:
    """README with its generated block replaced by the current one."""
    start, end = readme.index(README_BLOCK[0]), readme.index(README_BLOCK[1]) + len(README_BLOCK[1])
    return readme[:start] + differences() + readme[end:]


def changed_in(prop: str) -> str:
    """The semantics page's line on a property's history, linked to its timeline."""
    found = [c for c in changes() if c.property == prop]
    if not found:
        return "Changed in: no change declared across the measured releases ([versions](versions.md))."
    steps = sorted({f"{c.package} {c.release}" for c in found}, key=lambda t: (t.split()[0], _version(t)))
    return f"Changed in: {', '.join(steps)} ([timeline](versions.md#{prop}))."


def _version(text: str) -> Any:
    from packaging.version import Version

    return Version(text.split()[-1])


def plain(value: Any) -> str:
    """A declared value (or a side of a change) as the matrix and the timelines write it."""
    if isinstance(value, dict) and "na" in value:
        return "n/a"
    if isinstance(value, str) and value.startswith("="):
        return value[1:]
    return short(value)


#: Colour classes of the values no property shares a meaning of (`yes`, `no`, `n/a`).
_FIXED = {"yes": "yes", "no": "no", "n/a": "na", "by construction": "na", "-": "none"}
_OTHERS = 5


def palette(labels: Any) -> dict[str, str]:
    """Each value's colour class within one property: `yes`, `no`, `na`, `none`, or `o1` to `o5` for
    the others in order of first appearance, so one value has one colour wherever the property is shown."""
    out: dict[str, str] = {}
    for label in labels:
        if label not in out:
            others = sum(c.startswith("o") for c in out.values())
            out[label] = _FIXED.get(label, f"o{others % _OTHERS + 1}")
    return out


def timeline(prop: str, framework: str, observed: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One property's releases for one framework: a line per package (and per scope: servers, or an
    observation besides the value), each a list of eras (the release it starts at, the value, the
    change's source and why), with the sets of `nox -s history` that observed each side of a change."""
    steps = changes_for(prop, framework)
    seen = {(c["property"], c["package"], c["release"]): c for c in (observed or {}).get("changes", [])}
    lines = []
    for package, also, servers in dict.fromkeys((s.package, s.also, s.servers) for s in steps):
        line = [s for s in steps if (s.package, s.also, s.servers) == (package, also, servers)]
        eras: list[dict[str, Any]] = [
            {"since": None, "value": plain(line[0].old), "source": "", "why": "", "seen": []}
        ]
        eras += [
            {"since": s.release, "value": plain(s.new), "source": s.source, "why": s.why.strip(), "seen": []}
            for s in line
        ]
        for i, step in enumerate(line):
            found = seen.get((prop, package, step.release), {})
            for side, era in (("before", eras[i]), ("after", eras[i + 1])):
                if found.get(side):
                    era["seen"].append(
                        {
                            "set": found[side]["set"],
                            "version": found[side].get("version", ""),
                            "value": short(found[side]["observed"]),
                        }
                    )
        lines.append({"package": package, "also": also, "servers": list(servers), "eras": eras})
    return lines


def inline_html(text: str) -> str:
    """Text with markdown's `code` spans, as HTML (for the pages' raw HTML blocks)."""
    import html
    import re

    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def timeline_html(lines: list[dict[str, Any]], colours: dict[str, str]) -> str:
    """The lines of `timeline()` as bars: one segment per era, releases on the axis, each change
    linked to its source; one line of HTML (a raw block in the page's markdown)."""
    import html

    out = []
    for line in lines:
        scope = "; ".join(
            [f"on {', '.join(line['servers'])}"] * bool(line["servers"])
            + [f"`{line['also']}`"] * bool(line["also"])
        )
        name = html.escape(line["package"]) + (f" <span>({inline_html(scope)})</span>" if scope else "")
        eras = []
        for era in line["eras"]:
            if era["since"] is None:
                at = f"&lt; {html.escape(line['eras'][1]['since'])}"
            else:
                at = (
                    f'<a href="{html.escape(era["source"])}" title="{html.escape(era["why"])}">'
                    f"{html.escape(era['since'])}</a>"
                )
            seen = "".join(
                f'<span class="afw-tl-seen">seen at {html.escape(s["version"] or s["set"])}: '
                f"{html.escape(s['value'])}</span>"
                for s in era["seen"]
            )
            eras.append(
                f'<li class="afw-v afw-v-{colours.get(era["value"], "none")}">'
                f'<span class="afw-tl-at">{at}</span>'
                f'<span class="afw-tl-val">{html.escape(era["value"])}</span>{seen}</li>'
            )
        out.append(
            f'<div class="afw-tl"><p class="afw-tl-name">{name}</p>'
            f'<ol class="afw-tl-bar">{"".join(eras)}</ol></div>'
        )
    return "".join(out)


def _declared_labels(prop: str) -> list[str]:
    p = properties().get(prop)
    if p is None:
        return []
    return [_plain_cell(c) for f in FRAMEWORKS for s in SERVERS for _, c in by_python(p, f, s)]


def _plain_cell(c: Any) -> str:
    if c is None:
        return "-"
    if c.na:
        return "n/a"
    if c.by_construction:
        return "by construction"
    return plain(c.value)


def _pipes(text: str) -> str:
    return text.replace("|", "\\|")


def _observed_side(found: dict[str, Any] | None) -> str:
    """One side of a change as a history run observed it: the value and the release set."""
    if not found:
        return "not observed"
    return f"`{short(found['observed'])}` ({found['set']})"


def _era(value: Any) -> str:
    if isinstance(value, dict) and "na" in value:
        return "n/a"
    return _md_value(value)


def versions_page(observed: dict[str, Any]) -> str:
    """`docs/versions.md`: per property and framework, the declared timeline, each step linked, and
    the sets whose measurement observed each side of it (`observed`: what `nox -s history` recorded)."""
    sets = observed["sets"]
    out = [
        "# What changed when: background tasks across releases",
        "",
        "<!-- Generated by `nox -s history` from conformance/changes.toml and docs/versions/observed.json."
        " Do not edit. -->",
        "",
        "The [matrix](matrix.md) describes the newest releases. This page is where older",
        "releases behaved otherwise, as declared in `conformance/changes.toml` and measured by",
        "`nox -s history`: every set of releases in `conformance/versions.toml` is installed in an",
        "environment of its own (Python 3.11) and measured with the semantics tier, each cell checked",
        "against the value declared for the installed releases; a mismatch fails the run. For every",
        "change, the sets on either side of its release observed the old and the new value.",
        "",
        "Each property's bars are its timelines, one per framework: releases on the axis, one segment",
        "per value (its colour and its text), each release linked to the source of the change (the",
        "reason on hover), and `seen at` the release a set measured on that side of the change.",
        *(
            [
                "",
                "This record was assembled (`--collect`) from each set's last measurement, every cell's",
                "verdict taken again from the tables as they are now.",
            ]
            if observed.get("collected")
            else []
        ),
        "",
        "## Sets measured",
        "",
        "| set | releases | result | about |",
        "|---|---|---|---|",
    ]
    for name, entry in sets.items():
        releases = ", ".join(f"{p} {v}" for p, v in entry.get("installed", {}).items()) or "-"
        result = entry["status"] + (
            f": {entry['reason']}" if entry.get("reason") else f", {entry.get('cells', 0)} cells"
        )
        out.append(f"| `{name}` | {releases} | {_pipes(result)} | {_pipes(entry.get('about', ''))} |")
    for name, why in observed.get("skipped", {}).items():
        if name not in sets:
            out.append(f"| `{name}` | - | skipped: {why} | |")
    by_change = {(c["property"], c["package"], c["release"]): c for c in observed.get("changes", [])}
    for prop in dict.fromkeys(c.property for c in changes()):
        meaning = properties()[prop].meaning.strip() if prop in properties() else ""
        out += ["", f"## {prop}", "", meaning, ""]
        lines = {
            f: timeline(prop, f, observed)
            for f in dict.fromkeys(f for c in changes() if c.property == prop for f in c.frameworks)
        }
        labels = [e["value"] for found in lines.values() for line in found for e in line["eras"]]
        colours = palette([*_declared_labels(prop), *labels])
        for framework, found in lines.items():
            out += [f"**{FRAMEWORKS[framework].title}**", "", timeline_html(found, colours), ""]
        out += [
            "| release | before → after | what changed | observed before | observed at |",
            "|---|---|---|---|---|",
        ]
        for c in sorted(
            (c for c in changes() if c.property == prop),
            key=lambda c: (c.package, _version(f"x {c.release}")),
        ):
            seen = by_change.get((c.property, c.package, c.release), {})

            what = f"{c.also} " if c.also else ""
            out.append(
                f"| [{c.package} {c.release}]({c.source}) | {what}{_era(c.old)} → {_era(c.new)} | "
                f"{_pipes(c.why.strip())} | {_observed_side(seen.get('before'))} | "
                f"{_observed_side(seen.get('after'))} |"
            )
    return "\n".join(out) + "\n"
