"""The four reference apps aligned by role, from their syntax trees.

Every app has the same skeleton (docstring, imports, `get_query`, `send_notification`,
`health`, `invalid_input`, the app object), so a role is found by name in each: the
function, and every line elsewhere that names it (a decorator, a `Route`, a keyword of the
app's constructor). Every non-blank line of an app belongs to at least one role, or the
page cannot be built.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.servers import FRAMEWORKS, REPO

__all__ = ["ROLES", "Role", "app_path", "lines_by_role", "page", "uncovered"]

TITLES = {name: record.title for name, record in FRAMEWORKS.items()}


@dataclass(frozen=True)
class Role:
    key: str
    title: str
    what: str
    find: Callable[[ast.Module], set[int]]


def app_path(framework: str) -> Path:
    return REPO / (FRAMEWORKS[framework].app.partition(":")[0].replace(".", "/") + ".py")


def _span(node: ast.AST) -> set[int]:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])  # type: ignore[attr-defined]
    return set(range(first, node.end_lineno + 1))  # type: ignore[attr-defined]


def _function(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    raise LookupError(f"no module-level function {name!r}")


def _mentions(tree: ast.Module, name: str, outside: ast.AST) -> set[int]:
    """Lines outside `outside`'s body that name `name`: where the function is wired in."""
    inside = set().union(*(_span(s) for s in getattr(outside, "body", [])))
    return {n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name} - inside


def _header(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[int]:
    return set(range(min([fn.lineno, *(d.lineno for d in fn.decorator_list)]), fn.body[0].lineno))


def _wired(name: str, whole: bool = True) -> Callable[[ast.Module], set[int]]:
    def find(tree: ast.Module) -> set[int]:
        fn = _function(tree, name)
        return (_span(fn) if whole else _header(fn)) | _mentions(tree, name, fn)
    return find


def _docstring(tree: ast.Module) -> set[int]:
    return _span(tree.body[0]) if ast.get_docstring(tree) else set()


def _imports(tree: ast.Module) -> set[int]:
    return set().union(*(_span(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))))


def _task(tree: ast.Module) -> set[int]:
    """The handler's body, and any module-level function it hands to the framework."""
    handler = _function(tree, "send_notification")
    body = set().union(*(_span(s) for s in handler.body))
    named = {n.id for s in handler.body for n in ast.walk(s) if isinstance(n, ast.Name)}
    helpers = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
               and n.name in named - {"get_query", "health", "invalid_input"}]
    return body.union(*(_span(h) for h in helpers))


def _app(tree: ast.Module) -> set[int]:
    return set().union(*(_span(n) for n in tree.body[1:] if not isinstance(
        n, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef))))


ROLES = [
    Role("idiom", "The idiom", "What each app says about its framework's mechanism.", _docstring),
    Role("imports", "Imports", "The framework's pieces; `shared/` holds the domain code all four use.",
         _imports),
    Role("dependency", "The dependency that adds the log task",
         "Clause 2: `write_log` is registered by what runs before the handler, and where that is wired in.",
         _wired("get_query")),
    Role("route", "The route", "Clause 1: `POST /send-notification/{email}`, and how the handler gets its "
         "arguments.", _wired("send_notification", whole=False)),
    Role("task", "Adding the e-mail task",
         "Clause 3: the handler registers `write_notification` after the log task, to run after the answer.",
         _task),
    Role("health", "Health", "Clause 7: `GET /health`.", _wired("health")),
    Role("errors", "Error handling", "Clause 8: `InvalidInput` becomes the 422 body, registered on the app.",
         _wired("invalid_input")),
    Role("app", "Configuration: the app object", "The app, its router or blueprint, and its settings "
         "(clause 9's variables are read by `shared/`).", _app),
]


def lines_by_role(framework: str, source: str | None = None) -> dict[str, list[int]]:
    """Each role's line numbers in the app (or in `source`, an app's text)."""
    tree = ast.parse(app_path(framework).read_text(encoding="utf-8") if source is None else source)
    return {role.key: sorted(role.find(tree)) for role in ROLES}


def uncovered(framework: str, source: str | None = None) -> list[int]:
    """Non-blank lines of the app (or of `source`) that no role shows."""
    source = app_path(framework).read_text(encoding="utf-8") if source is None else source
    shown = set().union(*map(set, lines_by_role(framework, source).values()))
    return [n for n, line in enumerate(source.splitlines(), 1) if line.strip() and n not in shown]


def _runs(lines: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for n in lines:
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def _block(framework: str, lines: list[int], source: list[str]) -> str:
    path = app_path(framework).relative_to(REPO).as_posix()
    runs = _runs(lines)
    where = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs)
    out = ['<div class="sbs-app" markdown>', "",
           f"**{TITLES[framework]}** · [`{path}`](../{path}) lines {where}", ""]
    for a, b in runs:
        out += [f'```python linenums="{a}"', *source[a - 1:b], "```", ""]
    out += ["</div>", ""]
    return "\n".join(out)


def page() -> str:
    sources = {f: app_path(f).read_text(encoding="utf-8").splitlines() for f in FRAMEWORKS}
    roles = {f: lines_by_role(f) for f in FRAMEWORKS}
    for framework in FRAMEWORKS:
        missing = uncovered(framework)
        if missing:
            raise ValueError(f"{app_path(framework).name}: lines {missing} belong to no role; "
                             f"add a role in {Path(__file__).name}")
    out = ["---", "hide:", "  - navigation", "  - toc", "---", "", "# Side by side", "",
           "<!-- generated by `python -m docs_site` from the apps' syntax trees; do not edit by hand -->", "",
           "The four reference apps, "
           + ", ".join(f"[{TITLES[f]}](../{app_path(f).relative_to(REPO).as_posix()})" for f in FRAMEWORKS)
           + ", aligned by what each part does. Each block is the real file's lines, numbered as in the "
           "file; every line of every app appears under at least one role. What the same code does "
           "differently after the response is in [the matrix](matrix.md); a move from one "
           "to another, with what breaks, is in [Moves](moves/index.md).", ""]
    for role in ROLES:
        out += [f"## {role.title}", "", role.what, "", '<div class="sbs" markdown>', ""]
        for framework in FRAMEWORKS:
            lines = roles[framework][role.key]
            if lines:
                out.append(_block(framework, lines, sources[framework]))
            else:
                out += ['<div class="sbs-app" markdown>', "", f"**{TITLES[framework]}**: none.", "",
                        "</div>", ""]
        out += ["</div>", ""]
    return "\n".join(out).rstrip() + "\n"
