"""Prose whose numbers come from the data.

`bench/notes.md` (the page's reading of the results) and `bench/headlines.md` (README's
headline bullets) are templates: each `{name}` becomes a fact computed from bench.json
(`bench.facts`, `bench.profile_facts`). A fact that carries a claim of its sentence checks
it and raises `Contradicted` rather than render a sentence the data disproves, so neither
the page nor README can be written until the prose is brought back in line.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

Fact = Callable[[dict[str, Any]], str]
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
COMMENT = re.compile(r"<!--.*?-->\n*", re.DOTALL)
#: README's generated block lies between these two lines.
BEGIN, END = "<!-- bench:headlines -->", "<!-- /bench:headlines -->"
#: README's durable scale-out line lies between these two.
DURABLE_MARKERS = ("<!-- bench:durable -->", "<!-- /bench:durable -->")


class Contradicted(ValueError):
    """The data disproves a sentence of the prose: edit the template, not the numbers."""


class Facts(dict[str, Fact]):
    """Name -> fact; `@facts.fact` registers a function under its own name."""

    def fact(self, fn: Fact) -> Fact:
        self[fn.__name__] = fn
        return fn


def load(path: Path) -> str:
    """A template's text without its comments (notes to whoever edits it, not to the reader)."""
    return COMMENT.sub("", path.read_text())


def fill(template: str, data: dict[str, Any], facts: dict[str, Fact], source: str) -> str:
    """Every `{name}` in `template` replaced by `facts[name](data)`; only the named facts run."""
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in facts:
            raise KeyError(f"{source}: no fact named {{{name}}}")
        try:
            return facts[name](data)
        except Contradicted as exc:
            raise Contradicted(f"{source}, {{{name}}}: {exc}") from None
    return PLACEHOLDER.sub(one, template)


def reflow(text: str, width: int = 90) -> str:
    """Paragraphs and `- ` bullets wrapped again to `width` once their numbers are in; headings,
    tables and comments as they are."""
    out = []
    for para in text.strip("\n").split("\n\n"):
        if para.startswith(("#", "|", "<!--")):
            out.append(para)
            continue
        items = re.split(r"\n(?=- )", para)
        out.append("\n".join(textwrap.fill(" ".join(item.split()), width, subsequent_indent="  " if
                                           item.startswith("- ") else "", break_long_words=False,
                                           break_on_hyphens=False) for item in items))
    return "\n\n".join(out) + "\n"


def names(template: str) -> list[str]:
    return PLACEHOLDER.findall(template)


def span(xs: Iterable[float], fmt: str = "{:.0f}", unit: str = "") -> str:
    """`lo to hi` as formatted, or one number when both format alike."""
    xs = list(xs)
    lo, hi = fmt.format(min(xs)), fmt.format(max(xs))
    return (lo if lo == hi else f"{lo} to {hi}") + unit


def percent(xs: Iterable[float]) -> str:
    return span((100 * x for x in xs), "{:.0f}", "%")


def sig(x: float, digits: int = 2) -> str:
    """`x` to `digits` significant digits, without an exponent: 4.52 -> 4.5, 0.345 -> 0.34."""
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}"


def and_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def block(text: str, where: str = "README.md", markers: tuple[str, str] = (BEGIN, END)) -> str:
    """The text between README's markers (each on a line of its own)."""
    begin, end = markers
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"{where}: expected one `{begin}` ... `{end}` block")
    return text[text.index(begin) + len(begin):text.index(end)].strip("\n")


def with_block(text: str, new: str, where: str = "README.md", markers: tuple[str, str] = (BEGIN, END)) -> str:
    """`text` with the block between the markers replaced by `new`."""
    block(text, where, markers)
    begin, end = markers
    head, tail = text[:text.index(begin) + len(begin)], text[text.index(end):]
    return f"{head}\n{new.strip(chr(10))}\n{tail}"
