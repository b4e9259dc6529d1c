"""pyproject.toml's blocks that the axes decide: a server's extra, a Python's classifier.

Each server record (`shared.axes.SERVERS`), and each process manager's that needs more than its
server (`MANAGERS`), is one extra of the same name, its requirements
and their reasons as comments; each Python record one `Programming Language` classifier,
which `nox.project.python_versions` reads back for the sweep (`nox -s pythons`).
"""

from __future__ import annotations

import re
import textwrap

from shared.axes import PYTHONS, RUNNABLE

__all__ = ["BLOCKS", "classifiers", "extras", "with_axes"]

BLOCKS = {
    "classifiers": ("# <axes:pythons>", "# </axes:pythons>"),
    "extras": ("# <axes:servers>", "# </axes:servers>"),
}


def _comment(text: str, indent: str = "") -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, 96 - len(indent))] if text else []


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement)[0]


def extras() -> str:
    out = []
    for server in RUNNABLE.values():
        if server.manager and not server.requires:
            continue  # its server's extra is all it needs
        out += _comment(f"{server.name}: {server.described}.")
        for requirement, why in server.requires.items():
            out += _comment(why and f"{_name(requirement)}: {why}")
        listed = ", ".join(f'"{r}"' for r in server.requires)
        out.append(f"{server.name} = [{listed}]")
    return "\n".join(out)


def classifiers() -> str:
    lines = [f'    "Programming Language :: Python :: {p.version}",' for p in PYTHONS.values()]
    return "\n".join(["classifiers = [", *lines, "]"])


def _with(text: str, markers: tuple[str, str], block: str) -> str:
    begin, end = markers
    if text.count(begin) != 1 or text.count(end) != 1:
        raise ValueError(f"pyproject.toml: expected one `{begin}` ... `{end}` block")
    head, tail = text[: text.index(begin) + len(begin)], text[text.index(end) :]
    return f"{head}\n{block}\n{tail}"


def with_axes(text: str) -> str:
    text = _with(text, BLOCKS["classifiers"], classifiers())
    return _with(text, BLOCKS["extras"], extras())
