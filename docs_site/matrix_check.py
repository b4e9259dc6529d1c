"""The matrix page (`matrix/`) in Chromium: what a reader does with it, checked.

- The script's cells are the page's own (the same words with and without JavaScript), and a
  filtered view's cells are what `docs_site.matrix.summary` says for the servers and Pythons chosen.
- A column filter hides that column's header and cells and nothing else; "only where they
  differ" hides exactly the rows whose shown values are all one.
- Clicking a cell opens its evidence: the declared reason and pinned source of each of its values
  (read from `conformance/expected.toml`, not from the page), its wrong probe, and its releases.
- The address then holds the view: opened in another browser, it shows the same columns, rows,
  cells and open evidence.
- The table fits its column at every width of `VIEWPORTS` (its width is reported); at the
  widest every column's header is on screen, and at the narrowest a property's name has a line of
  its own above its values.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

__all__ = ["CELL", "check_matrix", "view"]

PATH = "matrix/"
#: The cell whose evidence is opened: its value depends on the server.
CELL = ("failed_task_closes_keepalive_connection", "fastapi")
#: The filtered view checked (and reopened elsewhere): a column off, one server, one Python, a search.
FILTERS = {"column": "quart", "server": "hypercorn", "python": "3.11"}
TIMEOUT_MS = 30_000

_VIEW = """() => {
  const table = document.getElementById('afw-m');
  const shown = (el) => !el.hidden && !el.closest('[hidden]') && el.getClientRects().length > 0;
  const rows = [...table.querySelectorAll('tbody tr[id]')].filter(shown).map(tr => tr.id);
  const columns = [...table.querySelectorAll('thead th[data-col]')].filter(shown).map(th => th.dataset.col);
  const cells = {};
  for (const tr of table.querySelectorAll('tbody tr[id]')) {
    for (const td of tr.querySelectorAll('td[data-col]')) {
      cells[tr.id + ':' + td.dataset.col] = [...td.querySelectorAll('.afw-v')].map(v =>
        [v.querySelector('b').textContent, (v.querySelector('.afw-at') || {textContent: ''}).textContent]);
    }
  }
  const dialog = document.getElementById('afw-evidence');
  const title = dialog.open ? document.getElementById('afw-ev-title').textContent : '';
  const hiddenCells = [...table.querySelectorAll('td[data-col]')]
    .filter(td => !shown(td) && shown(td.parentElement)).map(td => td.dataset.col);
  return {rows, columns, cells, evidence: title, hiddenColumns: [...new Set(hiddenCells)].sort()};
}"""

_WIDTHS = """() => {
  const table = document.getElementById('afw-m');
  const area = document.querySelector('.md-content') || table.parentElement;
  const heads = [...table.querySelectorAll('thead th[data-col]')].map(th => th.getBoundingClientRect().right);
  const name = table.querySelector('tbody th[scope=row]').getBoundingClientRect();
  const value = table.querySelector('tbody th[scope=row] ~ td').getBoundingClientRect();
  return {table: Math.round(table.getBoundingClientRect().width),
          column: Math.round(table.parentElement.clientWidth),
          content: Math.round(area.getBoundingClientRect().width),
          page: document.scrollingElement.scrollWidth, viewport: window.innerWidth,
          rightmost: Math.round(Math.max(...heads)), name: Math.round(name.width),
          nameAbove: name.bottom <= value.top + 1};
}"""

#: Where the table ends, and where its last shown column does: the shown columns fill the table.
_SPANS = """() => {
  const table = document.getElementById('afw-m').getBoundingClientRect();
  const heads = [...document.querySelectorAll('#afw-m thead th')].filter(th => th.getClientRects().length);
  const right = Math.max(...heads.map(th => th.getBoundingClientRect().right));
  return [Math.round(table.right), Math.round(right)];
}"""


def view(page: Any) -> dict[str, Any]:
    """What the matrix shows now: visible rows and columns, every cell's words, the open evidence."""
    return dict(page.evaluate(_VIEW))


def _data(page: Any) -> dict[str, Any]:
    import json

    return dict(json.loads(page.locator("#afw-matrix-data").text_content()))


def _expected_cells(
    data: dict[str, Any], servers: list[str], pythons: list[str]
) -> dict[str, list[list[str]]]:
    from docs_site.matrix import summary

    out = {}
    for row in data["rows"]:
        for column, cell in row["cells"].items():
            if "grid" in cell:
                labels = [e["label"] for e in cell["declared"]]
                grid = {tuple(k.split("@", 1)): labels[i] for k, i in cell["grid"].items()}
                parts = summary(grid, servers, pythons)
            else:
                parts = [(cell["label"], "")]
            out[f"{row['name']}:{column}"] = [list(p) for p in parts]
    return out


def _differing(data: dict[str, Any], cells: dict[str, list[list[str]]], columns: list[str]) -> list[str]:
    """The rows "only where they differ" keeps: more than one value among the shown columns."""
    return [
        row["name"]
        for row in data["rows"]
        if len({label for c in columns for label, _ in cells[f"{row['name']}:{c}"] if label != "-"}) > 1
    ]


def check_matrix(
    browser: Any, root: str, viewports: dict[str, tuple[int, int]], launch: Any = None
) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Problems found on the matrix page, and its widths at each viewport. `launch()` opens another
    browser, in which the link to a filtered view must show the same view."""
    problems: list[str] = []
    widths: dict[str, dict[str, int]] = {}
    url = urljoin(root, PATH)
    for size, (width, height) in viewports.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        widths[size] = found = page.evaluate(_WIDTHS)
        if found["table"] > found["column"] + 1 or found["page"] > found["viewport"] + 1:
            problems.append(
                f"matrix at {width} px: the table is {found['table']} px in a {found['column']} px "
                f"column, the page {found['page']} px wide"
            )
        if size == "desktop" and found["rightmost"] > width:
            problems.append(
                f"matrix at {width} px: a column's header ends at {found['rightmost']} px, off screen"
            )
        if size == "phone" and not (found["nameAbove"] and found["name"] >= 0.9 * found["table"]):
            problems.append(
                f"matrix at {width} px: a property's name ({found['name']} px wide) is not on a line of its "
                "own above its values"
            )
        context.close()

    static = browser.new_context(java_script_enabled=False)
    page = static.new_page()
    page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
    written = view(page)["cells"]
    static.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"matrix: exception: {e}"))
    page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
    data = _data(page)
    servers, pythons = data["servers"], data["pythons"]
    columns = [c["name"] for c in data["columns"]]
    scripted = view(page)
    if scripted["cells"] != written:
        wrong = sorted(k for k in written if scripted["cells"].get(k) != written[k])
        problems.append(f"matrix: the script's cells differ from the page's own: {', '.join(wrong[:5])}")
    if written != _expected_cells(data, servers, pythons):
        problems.append("matrix: the page's cells are not docs_site.matrix.summary() of its data")

    # A column filter hides that column, and nothing else.
    page.uncheck(f'input[name="column"][value="{FILTERS["column"]}"]')
    shown = view(page)
    spans = page.evaluate(_SPANS)
    if spans[1] < spans[0] - 2:
        problems.append(
            f"matrix: with {FILTERS['column']} hidden, the columns end at {spans[1]} px, "
            f"the table at {spans[0]} px"
        )
    if FILTERS["column"] in shown["columns"] or shown["hiddenColumns"] != [FILTERS["column"]]:
        problems.append(
            f"matrix: unticking {FILTERS['column']} shows columns {shown['columns']}, "
            f"hides {shown['hiddenColumns']}"
        )
    # One server and one Python: every cell is what summary() says for them.
    for axis in ("server", "python"):
        for box in page.locator(f'input[name="{axis}"]').all():
            if box.get_attribute("value") != FILTERS[axis]:
                box.uncheck()
    chosen = view(page)
    expected = _expected_cells(data, [FILTERS["server"]], [FILTERS["python"]])
    wrong = sorted(k for k in expected if chosen["cells"].get(k) != expected[k])
    if wrong:
        problems.append(
            f"matrix on {FILTERS['server']}, Python {FILTERS['python']}: cells not as summary(): "
            f"{', '.join(wrong[:5])} (first: {chosen['cells'].get(wrong[0])} for {expected[wrong[0]]})"
        )
    # Only where they differ: exactly the rows with more than one value among the shown columns.
    page.check('input[name="differ"]')
    kept = [c for c in columns if c != FILTERS["column"]]
    differing = view(page)
    want = _differing(data, expected, kept)
    if differing["rows"] != want or not 0 < len(want) < len(data["rows"]):
        problems.append(
            f"matrix: 'only where they differ' shows {len(differing['rows'])} rows "
            f"({', '.join(sorted(set(differing['rows']) ^ set(want))[:5])} wrong), expected {len(want)}"
        )

    # A cell opens its evidence: every declared value's reason and pinned source, its wrong probe.
    prop, framework = CELL
    if prop not in differing["rows"]:
        page.uncheck('input[name="differ"]')
    page.click(f'[data-cell="{prop}:{framework}"]')
    problems += _evidence(page, prop, framework)
    link = page.url

    # The address reopens the same view, evidence open, in another browser.
    before = view(page)
    other = launch() if launch is not None else None
    elsewhere = (other or browser).new_context(viewport={"width": 1280, "height": 900})
    again = elsewhere.new_page()
    again.goto(link, wait_until="load", timeout=TIMEOUT_MS)
    after = view(again)
    if "#" not in link or after != before:
        changed = [k for k in before if before[k] != after.get(k)]
        problems.append(f"matrix: {link.removeprefix(root)} opened in another browser differs in {changed}")
    elsewhere.close()
    if other is not None:
        other.close()
    context.close()
    return problems + errors, widths


def _evidence(page: Any, prop: str, framework: str) -> list[str]:
    from conformance.declared import properties
    from conformance.flips import flip_for
    from conformance.render import plain
    from shared.axes import PYTHONS, SERVERS

    dialog = page.locator("#afw-evidence")
    if not dialog.evaluate("d => d.open"):
        return [f"matrix: clicking {prop}:{framework} opened no evidence"]
    text = " ".join(dialog.inner_text().split())
    hrefs = dialog.locator("a[href]").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    problems = []
    for server in SERVERS:
        for python in PYTHONS:
            cell = properties()[prop].cell(framework, server, python)
            if cell is None or not cell.measured:
                continue
            flip = flip_for(prop, framework, server, python=python)
            why = " ".join(cell.why.replace("`", "").split())
            for what, ok in (
                (f"value {plain(cell.value)}", plain(cell.value) in text),
                (f"why {why[:40]}...", why in text),
                (f"source {cell.source}", cell.source in hrefs),
                (
                    f"wrong probe {flip.describe() if flip else '-'}",
                    flip is not None and flip.describe() in text,
                ),
            ):
                if not ok:
                    problems.append(
                        f"matrix: {prop}:{framework}'s evidence lacks the {what} ({server}, {python})"
                    )
    for heading in ("Declared", "Measured", "Recipes", "Releases"):
        if heading not in text:
            problems.append(f"matrix: {prop}:{framework}'s evidence has no {heading!r}")
    return sorted(set(problems))
