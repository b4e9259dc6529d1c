"""mkdocs hooks: the navigation from the pages that exist, the spec, and the repository's files.

- The navigation lists every page under docs/ (new pages join it without an edit here):
  the ones in `ORDER` first, in that order, then the rest by name; a folder is a section.
- `spec.md` is `shared/SPEC.md`, included at build time; links to that file lead there.
- A link from a page to a repository file outside docs/ (`../frameworks/quart_app.py`) goes
  to a page of the site that shows that file (`source/frameworks/quart_app.py/`), built from
  the file at build time; a link to a folder, to a page listing its files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

REPO = Path(__file__).resolve().parent.parent
ORDER = ["index.md", "matrix.md", "side-by-side.md", "moves", "durable.md", "queues.md", "recipes.md",
         "semantics.md",
         "versions.md", "benchmarks.md", "reliability.md", "spec.md"]
SPEC = REPO / "shared" / "SPEC.md"
SOURCE = "source"
LINK = re.compile(r"(\]\()([^)\s#]+)((?:#[^)\s]*)?\))")
LANGUAGES = {".py": "python", ".toml": "toml", ".json": "json", ".md": "markdown", ".yml": "yaml",
             ".yaml": "yaml", ".txt": "text", ".sh": "sh"}


def _title(path: Path) -> str:
    return path.stem.replace("-", " ").replace("_", " ").capitalize()


def _nav(docs: Path) -> list[Any]:
    pages = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md")} | {"spec.md"}
    top = sorted({p.split("/")[0] for p in pages},
                 key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    nav: list[Any] = []
    for name in top:
        if name.endswith(".md"):
            nav.append(name)
            continue
        inside = sorted((p for p in pages if p.startswith(name + "/")),
                        key=lambda p: (not p.endswith("/index.md"), p))
        nav.append({_title(Path(name)): inside})
    return nav


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    config.nav = _nav(Path(config.docs_dir))
    return config


def _targets(docs: Path) -> set[Path]:
    """Repository files and folders outside docs/ that some page links to, and the ones those
    files link to in turn where they are Markdown (the spec, a README): each gets its page."""
    out: set[Path] = set()
    todo = [(page, page.parent) for page in docs.rglob("*.md")] + [(SPEC, SPEC.parent)]
    while todo:
        page, base = todo.pop()
        for match in LINK.finditer(page.read_text(encoding="utf-8")):
            target = _outside(docs, base, match.group(2))
            if target is not None and target not in out:
                out.add(target)
                if target.suffix == ".md" and target.is_file():
                    todo.append((target, target.parent))
    return out


def _outside(docs: Path, base: Path, link: str) -> Path | None:
    if "://" in link or link.startswith(("mailto:", "/")):
        return None
    target = (base / link).resolve()
    if target.is_relative_to(docs.resolve()) or not target.is_relative_to(REPO) or not target.exists():
        return None
    return target


def _source_uri(target: Path) -> str:
    if target == SPEC:
        return "spec.md"  # the site's page for it
    rel = target.relative_to(REPO).as_posix()
    return f"{SOURCE}/{rel}/index.md" if target.is_dir() else f"{SOURCE}/{rel}.md"


def _source_page(target: Path) -> str:
    rel = target.relative_to(REPO).as_posix()
    if target.is_dir():
        files = sorted(p for p in target.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        return "\n".join([f"# {rel}/", "", *(f"- `{p.relative_to(target).as_posix()}`" for p in files), ""])
    text = target.read_text(encoding="utf-8")
    if target.suffix == ".md":
        return text
    fence = "````" if "```" in text else "```"
    return "\n".join([f"# {rel}", "", f"{fence}{LANGUAGES.get(target.suffix, 'text')} linenums=\"1\"",
                      text.rstrip("\n"), fence, ""])


#: A generated page's origin (`spec.md`: shared/SPEC.md; `source/x/README.md.md`: x/README.md): its
#: links are relative to that file and are rewritten as a page's are.
ORIGINS: dict[str, Path] = {}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    docs = Path(config.docs_dir)
    files.append(File.generated(config, "spec.md", content=SPEC.read_text(encoding="utf-8")))
    ORIGINS["spec.md"] = SPEC
    for target in sorted(_targets(docs) - {SPEC}):
        uri = _source_uri(target)
        files.append(File.generated(config, uri, content=_source_page(target)))
        if target.suffix == ".md" and target.is_file():
            ORIGINS[uri] = target
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    docs = Path(config.docs_dir)
    origin = ORIGINS.get(page.file.src_uri) if page.file.generated_by else None
    if origin is None and (page.file.generated_by or page.file.abs_src_path is None):
        return markdown
    base = origin.parent if origin is not None else Path(page.file.abs_src_path).parent  # type: ignore[arg-type]
    at = (docs / page.file.src_uri).parent  # where the page sits in the site

    def rewrite(match: re.Match[str]) -> str:
        link = match.group(2)
        if "://" in link or link.startswith(("mailto:", "/")):
            return match.group(0)
        target = (base / link).resolve()
        if target.is_relative_to(docs.resolve()):  # a page of the site: from where this page sits
            to = target
        elif (target := _outside(docs, base, link)) is not None:
            to = docs / _source_uri(target)
        else:
            return match.group(0)
        return match.group(1) + Path(_relative(to, at)).as_posix() + match.group(3)

    return LINK.sub(rewrite, markdown)


def _relative(path: Path, base: Path) -> str:
    import os

    return os.path.relpath(path, base)
