"""`python -m docs_site.browser SITE`: the built site in a real browser.

Serves SITE (mkdocs' output) on 127.0.0.1 and opens every page in Debian's headless
Chromium (driven by Playwright, never a browser build of its own). A page fails when it logs
a console error or an uncaught exception, when one of its own requests fails or answers
>= 400, or when it links to a page of the site that does not exist or to an anchor that the
target page does not have. Links that leave the site are not followed (no network is
assumed). A page fails, too, when it or a table on it scrolls sideways at desktop width (code
blocks may), and the matrix and move pages at phone width as well. The matrix page is used as a
reader would (`docs_site.matrix_check`: its evidence, filters and links). `--screenshots DIR`
saves the matrix page, and a cell's evidence on it, at desktop and phone widths, and fails when a
screenshot is blank (one colour nearly everywhere) or is not of the matrix.

    python -m docs_site.browser build/site --screenshots docs/screenshots
    python -m docs_site.browser --self-test   # a broken site must fail in every way above
"""

from __future__ import annotations

import argparse
import functools
import io
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

__all__ = ["NARROW", "VIEWPORTS", "Report", "blank", "check_site", "chromium", "serve", "sideways"]

#: Width x height of the screenshots.
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
#: Pages screenshotted, by their path in the site (a view's address included), and what each must show.
SHOTS = {
    "matrix": ("matrix/", "#afw-m"),
    "matrix-evidence": ("matrix/#cell=failed_task_closes_keepalive_connection:fastapi",
                        "#afw-evidence[open]"),
}
#: The pages that must not scroll sideways at phone width either (every page must not at desktop width).
NARROW = ("matrix/", "moves/")
#: A screenshot is blank when fewer than this share of its pixels differ from its commonest colour.
INK = 0.02
TIMEOUT_MS = 30_000


@dataclass
class Report:
    pages: int = 0
    links: int = 0
    problems: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)
    #: Page views that scroll sideways (page, width) -> what scrolls.
    sideways: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    #: The matrix's widths at each viewport (docs_site.matrix_check).
    matrix: dict[str, dict[str, int]] = field(default_factory=dict)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that closes a page mid-answer is no error of the site's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """SITE over HTTP on 127.0.0.1 (a port of the system's choosing), for the block's length."""
    server = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("no chromium on PATH: `apt-get install chromium` (nox -s docs does it when missing)")


def blank(png: bytes) -> bool:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height) or []
    commonest = max(count for count, _ in colours)
    return 1 - commonest / (image.width * image.height) < INK


_SIDEWAYS = """() => {
  const out = [];
  const root = document.scrollingElement;
  if (root.scrollWidth > window.innerWidth + 1) out.push(`the page is ${root.scrollWidth} px wide`);
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('pre, .highlight') || !(el.matches('table') || el.querySelector('table'))) continue;
    if (!['auto', 'scroll'].includes(getComputedStyle(el).overflowX)) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      out.push(`a table scrolls: ${el.scrollWidth} px in ${el.clientWidth}`);
    }
  }
  return out;
}"""


def sideways(page: object) -> list[str]:
    """What scrolls sideways on the page: the page itself, or a box holding a table (not a code block,
    which may: `pre`, or pymdownx's `.highlight`, whose line numbers are a table)."""
    return list(page.evaluate(_SIDEWAYS))  # type: ignore[attr-defined]


def _pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix().removesuffix("index.html")
                  for p in site.rglob("index.html"))


def _target(site: Path, url: str) -> Path | None:
    """The file a same-site URL path names (a folder's index.html), or None."""
    path = site / unquote(urlparse(url).path).lstrip("/")
    if path.is_dir():
        path = path / "index.html"
    return path if path.is_file() else None


def check_site(site: Path, shots: Path | None = None, pages: list[str] | None = None) -> Report:
    from playwright.sync_api import sync_playwright

    report = Report()
    ids: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []
    with serve(site) as root, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            width, height = VIEWPORTS["desktop"]
            context = browser.new_context(viewport={"width": width, "height": height})
            for path in pages if pages is not None else _pages(site):
                report.pages += 1
                url = urljoin(root, path)
                problems: list[str] = []
                page = context.new_page()
                page.on("console", lambda m, p=problems: m.type == "error" and p.append(f"console: {m.text}"))
                page.on("pageerror", lambda e, p=problems: p.append(f"exception: {e}"))
                page.on("requestfailed", lambda r, p=problems: r.url.startswith(root)
                        and p.append(f"request failed: {r.url} ({r.failure})"))
                page.on("response", lambda r, p=problems: r.url.startswith(root) and r.status >= 400
                        and p.append(f"{r.status}: {r.url}"))
                answer = page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
                if answer is None or answer.status != 200:
                    problems.append(f"answered {answer.status if answer else 'nothing'}")
                found = page.eval_on_selector_all("[id]", "els => els.map(e => e.id)")
                ids[urldefrag(page.url)[0]] = set(found)
                hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
                links += [(url, h) for h in hrefs if h.startswith(root)]
                wide = sideways(page)
                if wide:
                    report.sideways[path, width] = wide
                    problems += [f"scrolls sideways at {width} px: {w}" for w in wide]
                page.close()
                report.problems += [f"/{path}: {p}" for p in problems]
            context.close()
            width, height = VIEWPORTS["phone"]
            context = browser.new_context(viewport={"width": width, "height": height})
            for path in pages if pages is not None else _pages(site):
                if not path.startswith(NARROW):
                    continue
                page = context.new_page()
                page.goto(urljoin(root, path), wait_until="load", timeout=TIMEOUT_MS)
                wide = sideways(page)
                if wide:
                    report.sideways[path, width] = wide
                    report.problems += [f"/{path}: scrolls sideways at {width} px: {w}" for w in wide]
                page.close()
            context.close()
            if (site / "matrix" / "index.html").exists():
                from docs_site.matrix_check import check_matrix

                def launch() -> object:
                    return pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])

                found, report.matrix = check_matrix(browser, root, VIEWPORTS, launch)
                report.problems += found
            for source, href in sorted(set(links)):
                report.links += 1
                report.problems += _check_link(site, root, ids, source, href)
            if shots is not None:
                report.shots, failures = _screenshots(browser, root, shots)
                report.problems += failures
        finally:
            browser.close()
    return report


def _check_link(site: Path, root: str, ids: dict[str, set[str]], source: str, href: str) -> list[str]:
    url, anchor = urldefrag(href)
    where = f"/{source.removeprefix(root)}"
    target = _target(site, url)
    if target is None:
        return [f"{where}: broken link {href.removeprefix(root)}"]
    if not anchor or target.suffix != ".html":
        return []
    page_ids = ids.get(url)
    if page_ids is None:  # a page the walk did not open (not an index.html): read its ids from the file
        import re

        page_ids = set(re.findall(r'\bid="([^"]+)"', target.read_text(encoding="utf-8", errors="replace")))
        ids[url] = page_ids
    if unquote(anchor) not in page_ids:
        return [f"{where}: broken anchor {href.removeprefix(root)}"]
    return []


def _screenshots(browser: object, root: str, out: Path) -> tuple[list[Path], list[str]]:
    out.mkdir(parents=True, exist_ok=True)
    saved, problems = [], []
    for name, (path, shows) in SHOTS.items():
        for size, (width, height) in VIEWPORTS.items():
            context = browser.new_context(viewport={"width": width, "height": height},  # type: ignore[attr-defined]
                                          device_scale_factor=1)
            page = context.new_page()
            page.goto(urljoin(root, path), wait_until="load", timeout=TIMEOUT_MS)
            missing = page.locator(shows).count() == 0 or not page.locator(shows).first.is_visible()
            png = page.screenshot(full_page=False)
            context.close()
            target = out / f"{name}-{size}.png"
            target.write_bytes(png)
            saved.append(target)
            if blank(png):
                problems.append(f"screenshot {target.name} is blank")
            if missing:
                problems.append(f"screenshot {target.name} does not show {shows} (/{path})")
    return saved, problems


BROKEN_SITE = {
    "index.html": '<html><body><h1 id="top">fine</h1><a href="good/">good</a> <a href="good/#here">anchor</a>'
                  ' <a href="missing/">missing</a> <a href="good/#nowhere">no anchor</a></body></html>',
    "good/index.html": '<html><body><p id="here">here</p></body></html>',
    "noisy/index.html": "<html><body><script>console.error('boom')</script></body></html>",
    "throws/index.html": "<html><body><script>undefinedFunction()</script></body></html>",
    "fetches/index.html": '<html><body><img src="../absent.png"></body></html>',
    "wide/index.html": '<html><body><div style="overflow-x: auto"><table><tr><td style="min-width: 3000px">'
                       'wide</td></tr></table></div></body></html>',
    # A code block with line numbers, as pymdownx writes it: a table in a box that may scroll.
    "codeblock/index.html": '<html><body><div class="highlight" style="overflow-x: auto"><table><tr>'
                            '<td><pre>1</pre></td><td><pre><code>' + "x" * 2000 + "</code></pre></td></tr>"
                            "</table></div><table><tr><td>fits</td></tr></table></body></html>",
}
#: What the self-test must see reported, one fragment per fault planted above.
EXPECTED_FAULTS = ["broken link missing/", "broken anchor good/#nowhere", "console: boom",
                   "exception:", "404:", "/wide/: scrolls sideways at 1280 px"]


def self_test() -> int:
    """The checker must report every fault of a site built to have them, and none of a good page."""
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="afterward-site-") as tmp:
        site = Path(tmp)
        for name, html in BROKEN_SITE.items():
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            (site / name).write_text(html, encoding="utf-8")
        report = check_site(site)
    missed = [f for f in EXPECTED_FAULTS if not any(f in p for p in report.problems)]
    blamed_good = [p for p in report.problems if p.startswith(("/good/:", "/codeblock/:"))]
    white, ink = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(white, "PNG")
    drawn = Image.new("RGB", (200, 100), "white")
    drawn.paste((20, 20, 20), (0, 0, 200, 30))
    drawn.save(ink, "PNG")
    wrong_blank = [what for what, png, want in (("a white image", white.getvalue(), True),
                                                ("an image with text-sized ink", ink.getvalue(), False))
                   if blank(png) != want]
    for line in report.problems:
        print(f"  reported (planted): {line}")
    for fault in missed:
        print(f"SELF-TEST: the planted fault {fault!r} was not reported")
    for line in blamed_good:
        print(f"SELF-TEST: a good page was blamed: {line}")
    for what in wrong_blank:
        print(f"SELF-TEST: blank() misjudged {what}")
    ok = not (missed or blamed_good or wrong_blank)
    print(f"self-test: {'ok' if ok else 'FAILED'}: {len(EXPECTED_FAULTS)} planted faults, "
          f"{len(report.problems)} reported")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docs_site.browser", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("site", nargs="?", type=Path, help="the built site (mkdocs' site_dir)")
    parser.add_argument("--screenshots", type=Path, help="save the screenshots here and check them")
    parser.add_argument("--self-test", action="store_true", help="check the checker on a broken site")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if args.site is None or not (args.site / "index.html").exists():
        parser.error("SITE: a built site (run mkdocs build first)")
    report = check_site(args.site, args.screenshots)
    for line in report.problems:
        print(f"PROBLEM {line}")
    for shot in report.shots:
        print(f"screenshot: {shot}")
    for size, found in report.matrix.items():
        print(f"matrix at {found['viewport']} px ({size}): the table is {found['table']} px wide in a "
              f"{found['column']} px column ({found['content']} px content area), "
              f"the page {found['page']} px")
    views = report.pages + sum(p.startswith(NARROW) for p in _pages(args.site))
    print(f"{len(report.sideways)} of {views} page views scroll sideways (every page at "
          f"{VIEWPORTS['desktop'][0]} px; {', '.join(NARROW)} at {VIEWPORTS['phone'][0]} px too)")
    print(f"{report.pages} pages, {report.links} links within the site checked in Chromium; "
          f"{len(report.problems)} problems")
    return 1 if report.problems or report.pages == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
