"""A page for every move from one framework to another, and the recipes page.

Each move page shows the diff of the two reference apps, every property whose declared value
(`conformance/expected.toml`) changes on some server with what that breaks for the user
(`docs_site/breaks.toml`), and the recipes (`conformance/recipes.toml`) that act on what
changes. Nothing here is written by hand for one move: a new server in the registry, a new
property or a new recipe reaches every page it concerns.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path
from typing import Any

from conformance.declared import Cell, Property, properties
from conformance.recipes import Recipe, recipes
from conformance.render import short
from docs_site.sidebyside import TITLES, app_path
from shared.servers import FRAMEWORKS, MANAGERS, REPO, SERVERS

__all__ = ["BREAKS", "Change", "changes", "move_page", "moves", "moves_index", "recipes_page", "servers_page",
           "slug"]

BREAKS = Path(__file__).with_name("breaks.toml")


def moves() -> list[tuple[str, str]]:
    return list(permutations(FRAMEWORKS, 2))


def slug(old: str, new: str) -> str:
    return f"{old}-to-{new}"


def shown(cell: Cell | None) -> str:
    """A cell as the pages show it, and as `breaks.toml` keys it."""
    if cell is None:
        return "n/a"
    if cell.na:
        return "n/a"
    if cell.by_construction:
        return "by construction"
    rule = isinstance(cell.value, str) and cell.value.startswith("=")
    value = cell.value[1:] if rule else short(cell.value)
    return value + ("".join(f" | {k}={v}" for k, v in cell.also.items()) if cell.also else "")


@dataclass(frozen=True)
class Change:
    prop: Property
    servers: tuple[str, ...]
    old: str
    new: str
    new_cell: Cell | None
    breaks: str


def _breaks() -> dict[str, dict[str, str]]:
    return tomllib.loads(BREAKS.read_text(encoding="utf-8"))


def breaks_for(prop: str, new: str, table: dict[str, dict[str, str]] | None = None) -> str:
    table = _breaks() if table is None else table
    texts = table.get(prop, {})
    for key in (new, new.partition(" | ")[0]):
        if key in texts:
            return texts[key]
    raise LookupError(f"{BREAKS.name}: no sentence for [{prop}] landing on {new!r}")


def changes(old: str, new: str) -> list[Change]:
    """Properties whose declared cell differs between the two frameworks, grouped by server."""
    table = _breaks()
    out = []
    for prop in properties().values():
        by_value: dict[tuple[str, str], list[str]] = {}
        cells: dict[tuple[str, str], Cell | None] = {}
        for server in SERVERS:
            a, b = shown(prop.cell(old, server)), shown(prop.cell(new, server))
            if a != b:
                by_value.setdefault((a, b), []).append(server)
                cells[a, b] = prop.cell(new, server)
        for (a, b), servers in by_value.items():
            out.append(Change(prop, tuple(servers), a, b, cells[a, b], breaks_for(prop.name, b, table)))
    return out


def _code(value: str) -> str:
    main, _, also = value.partition(" | ")
    return f"`{main}`" + (f" ({also.replace(' | ', ', ')})" if also else "")


def _servers(servers: tuple[str, ...]) -> str:
    return "every server" if set(servers) == set(SERVERS) else ", ".join(servers)


def _recipe_claims(recipe: Recipe) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [(p, f, s, recipe.claim(p, f, s) or {}) for p, f, s in recipe.claimed_cells()]


def _recipe_block(recipe: Recipe, level: str = "###") -> list[str]:
    path = recipe.path.relative_to(REPO).as_posix()
    how = []
    if recipe.apply:
        how.append(f"`{recipe.apply}(app)` sets up the app")
    if recipe.add:
        how.append(f"`{recipe.add}(func, *args)` adds a task in place of the framework's call")
    if recipe.tasks:
        how.append(f"`{recipe.tasks}` replaces the framework's `BackgroundTasks`")
    if recipe.server_args:
        how.append(f"the server runs with `{' '.join(recipe.server_args)}`")
    out = [f"{level} {recipe.title}", "", f"[`{path}`](../{path}): " + "; ".join(how) + ".", "",
           "```python", *recipe.path.read_text(encoding="utf-8").rstrip().splitlines(), "```", ""]
    out += ["| property | pairs | declared | with the recipe | why |", "|---|---|---|---|---|"]
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for prop, framework, server, claim in _recipe_claims(recipe):
        declared = shown(properties()[prop].cell(framework, server))
        claimed = shown(Cell(claim["value"], also={**properties()[prop].cell(framework, server).also,
                                                    **claim.get("also", {})}))
        key = (prop, declared, claimed, claim.get("why", ""))
        grouped.setdefault(key, []).append(f"{framework}-{server}")
    for (prop, declared, claimed, why), pairs in grouped.items():
        out.append(f"| [`{prop}`](semantics.md#{prop}) | {', '.join(pairs)} | {_code(declared)} | "
                   f"{_code(claimed)} | {why} |")
    out += ["", f"`python -m conformance.recipes --recipe {recipe.name}` (in `nox -s recipes`) applies it to "
            "the semantics probe and fails unless it changes exactly these cells.", ""]
    return out


def relevant_recipes(old: str, new: str, found: list[Change]) -> list[tuple[Recipe, list[str]]]:
    """Recipes for the new framework that act on a property the move changes, with what each does."""
    changed = {(c.prop.name, s): c for c in found for s in c.servers}
    out = []
    for recipe in recipes().values():
        notes: dict[tuple[str, str], list[str]] = {}
        for prop, framework, server, claim in _recipe_claims(recipe):
            change = changed.get((prop, server))
            if framework != new or change is None:
                continue
            claimed = shown(Cell(claim["value"], also={**properties()[prop].cell(new, server).also,
                                                        **claim.get("also", {})}))
            does = (f"keeps {TITLES[old]}'s {_code(change.old)}" if claimed == change.old else
                    f"changes {_code(change.new)} to {_code(claimed)} ({TITLES[old]}: {_code(change.old)})")
            notes.setdefault((prop, does), []).append(server)
        if notes:
            out.append((recipe, [f"`{prop}` ({_servers(tuple(servers))}): {does}"
                                 for (prop, does), servers in notes.items()]))
    return out


def move_page(old: str, new: str) -> str:
    a, b = TITLES[old], TITLES[new]
    pa, pb = (app_path(f).relative_to(REPO).as_posix() for f in (old, new))
    found = changes(old, new)
    out = [f"# {a} → {b}", "",
           "<!-- generated by `python -m docs_site` from the apps, conformance/expected.toml, "
           "docs_site/breaks.toml and conformance/recipes.toml; do not edit by hand -->", "",
           f"Moving the notification app from {a} ([`{pa}`](../../{pa})) to {b} ([`{pb}`](../../{pb})). "
           f"The two apps line up role by role on [Side by side](../side-by-side.md).", "",
           "## What behaves differently afterwards", ""]
    if found:
        out += [f"{len(found)} declared propert{'y' if len(found) == 1 else 'ies'} change"
                f"{'s' if len(found) == 1 else ''}; each was measured on both frameworks by the conformance "
                "suite. What breaks, and why, is below the table.", "",
                f"| property | servers | {a} | {b} |", "|---|---|---|---|"]
        for c in found:
            out.append(f"| [`{c.prop.name}`](../semantics.md#{c.prop.name}) | {_servers(c.servers)} | "
                       f"{_code(c.old)} | {_code(c.new)} |")
        out += ["", "### What breaks", ""]
        for c in found:
            cell = c.new_cell
            why = (cell.na or cell.by_construction or cell.why) if cell else "not declared"
            source = f" ([source]({cell.source}))" if cell and cell.source.startswith("http") else ""
            out += [f"- **`{c.prop.name}`** ({_servers(c.servers)}, {_code(c.old)} → {_code(c.new)}): "
                    f"{c.breaks} *{b}:* {why}{source}"]
        out.append("")
    else:
        out += ["No declared property changes.", ""]
    kept = relevant_recipes(old, new, found)
    out += ["## Keeping the old behaviour", ""]
    if kept:
        for recipe, notes in kept:
            out += [f"- [{recipe.title}](../recipes.md#{recipe.name}): " + "; ".join(notes) + "."]
        out.append("")
    else:
        out += [f"No recipe in [the recipes](../recipes.md) acts on what changes here for {b}.", ""]
    out += ["## The diff", "", f"`diff -u {pa} {pb}`:", "", "```diff"]
    diff = difflib.unified_diff(app_path(old).read_text(encoding="utf-8").splitlines(),
                                app_path(new).read_text(encoding="utf-8").splitlines(), pa, pb, lineterm="")
    out += [*diff, "```", ""]
    return "\n".join(out)


def moves_index() -> str:
    out = ["# Moves", "",
           "<!-- generated by `python -m docs_site`; do not edit by hand -->", "",
           "A page for every move from one framework to another: the diff of the two apps, every declared "
           "property that changes with what it breaks, and the recipes that keep the old behaviour. Rows: "
           "from; columns: to. Each link gives the number of properties that change.", "",
           "| from \\ to | " + " | ".join(TITLES[f] for f in FRAMEWORKS) + " |",
           "|---|" + "---|" * len(FRAMEWORKS)]
    for old in FRAMEWORKS:
        row = [("" if old == new else f"[{len(changes(old, new))} changes]({slug(old, new)}.md)")
               for new in FRAMEWORKS]
        out.append(f"| **{TITLES[old]}** | " + " | ".join(row) + " |")
    out += ["", "## Off in-process tasks", "",
            "[In-process → durable queue](../durable.md): each framework's app beside its twin that hands "
            "the notification to Celery on Redis, the diff, what behaves differently afterwards (declared in "
            "`durable/expected.toml` and measured), and what is no longer lost when a process is killed.", "",
            "## To another server", "",
            "[Between servers](servers.md): for each framework, what changes when the same app moves between "
            + ", ".join(list(SERVERS)[:-1]) + f" and {list(SERVERS)[-1]}: every declared property the server "
            "decides.", "",
            "## Under a process manager", "",
            "[Between process managers](managers.md): the same app under "
            + ", ".join(MANAGERS) + ": what SIGTERM gives a task, what becomes of a task when its worker is "
            "recycled or killed."]
    return "\n".join(out) + "\n"


def by_server(framework: str) -> list[tuple[Property, dict[str, str]]]:
    """The properties whose declared value for `framework` depends on the server, with each server's."""
    out = []
    for prop in properties().values():
        values = {server: shown(prop.cell(framework, server)) for server in SERVERS}
        if len(set(values.values())) > 1:
            out.append((prop, values))
    return out


def servers_page() -> str:
    """The same app on another server: per framework, what the server decides."""
    out = ["# Between servers", "",
           "<!-- generated by `python -m docs_site` from shared/servers.py and conformance/expected.toml; "
           "do not edit by hand -->", "",
           "The same app, moved to another server. The servers, as the suite runs them (one worker each):",
           "",
           *(f"- **{server}**: {record.described}." for server, record in SERVERS.items()), "",
           "Per framework, every declared property whose value depends on the server, each cell measured on "
           "its pair by the conformance suite; why each value is what it is follows the table, with its "
           "source. What SIGTERM and SIGKILL deliver on each server is on [Reliability](../reliability.md), "
           "and each server's bare-ASGI ceiling on [Benchmarks](../benchmarks.md).", ""]
    for framework in FRAMEWORKS:
        rows = by_server(framework)
        out += [f"## {TITLES[framework]}", ""]
        if not rows:
            out += ["No declared property depends on the server.", ""]
            continue
        out += ["| property | " + " | ".join(SERVERS) + " |", "|---|" + "---|" * len(SERVERS)]
        out += [f"| [`{prop.name}`](../semantics.md#{prop.name}) | "
                + " | ".join(_code(values[s]) for s in SERVERS) + " |" for prop, values in rows]
        out += [""]
        for prop, values in rows:
            groups: dict[tuple[str, str, str], list[str]] = {}  # servers by value and reason
            for server, value in values.items():
                cell = prop.cell(framework, server)
                why = (cell.na or cell.by_construction or cell.why) if cell else "not declared"
                source = f" ([source]({cell.source}))" if cell and cell.source.startswith("http") else ""
                groups.setdefault((value, why, source), []).append(server)
            out.append(f"- **`{prop.name}`**")
            for (value, why, source), servers in groups.items():
                out.append(f"    - {', '.join(servers)}: {_code(value)}. {why}{source}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def recipes_page() -> str:
    out = ["# Recipes", "",
           "<!-- generated by `python -m docs_site` from conformance/recipes.toml and recipes/; "
           "do not edit by hand -->", "",
           "Runnable files that keep, after a move, a behaviour the old framework or server had. Each is "
           "applied to the conformance suite's semantics probe by `nox -s recipes`, which fails unless the "
           "recipe changes exactly the cells it claims below, to the value claimed, and no other.", ""]
    for recipe in recipes().values():
        out += [f'<a id="{recipe.name}"></a>', ""]
        out += _recipe_block(recipe, "##")
    return "\n".join(out).rstrip() + "\n"
