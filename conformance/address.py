"""One address syntax for every table (expected, flips, recipes, changes).

An address is `framework[.server][@python]`, each part a name from the axis records
(`shared.axes`) or `*` for every value: `quart`, `"quart.hypercorn"`, `"*.uvicorn-std"`,
`"*@3.12"`, `"litestar.uvicorn@3.13"`, `"*"`; a Python with `+` is that one and every later
one (`"quart@3.12+"`). A value is stated once where it holds for
every server (or Python), and per server or per Python only where it differs.

Where several addresses match a cell, the one naming more parts wins; between two naming
as many, the one naming the framework, then the server, then the Python: a framework's own
behaviour (`quart`) outranks a server's (`"*.hypercorn"`), which a pair's (`"quart.hypercorn"`)
outranks in turn.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from shared.axes import FRAMEWORKS, MANAGERS, PYTHONS, RUNNABLE

__all__ = ["ANY", "Address", "current_python", "pick"]

ANY = "*"
T = TypeVar("T")


def current_python() -> str:
    """The Python this process runs on, as the axis names it: `3.12`."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in version.split(".") if n.isdigit())


@dataclass(frozen=True)
class Address:
    framework: str = ANY
    server: str = ANY
    python: str = ANY

    @classmethod
    def parse(cls, key: str, where: str = "") -> Address:
        """`key` as an address; a name no axis has is a ValueError that says where it stands."""
        rest, _, python = key.partition("@")
        framework, _, server = rest.partition(".")
        address = cls(framework or ANY, server or ANY, python or ANY)
        for part, known, axis in (
            (address.framework, FRAMEWORKS, "framework"),
            (address.server, RUNNABLE, "server"),
            (address.python.removesuffix("+"), PYTHONS, "Python"),
        ):
            if part != ANY and part not in known:
                raise ValueError(
                    f"{where}{' ' if where else ''}{key!r}: no {axis} {part!r} "
                    f"(known: {', '.join(known)}, or *)"
                )
        return address

    def matches(self, framework: str, server: str, python: str | None = None) -> bool:
        python = python or current_python()
        if self.python.endswith("+") and _release(python) >= _release(self.python[:-1]):
            python = self.python
        return all(
            mine in (ANY, theirs)
            for mine, theirs in ((self.framework, framework), (self.server, server), (self.python, python))
        )

    @property
    def rank(self) -> tuple[int, bool, bool, bool, bool]:
        """More parts named wins; then the framework, the server, the Python; then one Python over
        a range of them (`@3.13` over `@3.12+`)."""
        named = (self.framework != ANY, self.server != ANY, self.python != ANY)
        return (sum(named), *named, not self.python.endswith("+"))

    def __str__(self) -> str:
        text = self.framework + ("" if self.server == ANY else f".{self.server}")
        return text + ("" if self.python == ANY else f"@{self.python}")


def pick(
    table: Mapping[str, T], framework: str, server: str, python: str | None = None, where: str = ""
) -> T | None:
    """The value of the most specific address in `table` that matches the cell, or None. A process
    manager's cell is its server's (`Server.base`), unless an address names the manager itself."""
    manager = MANAGERS.get(server)
    if manager is not None:
        own = {k: v for k, v in table.items() if _parsed(k, where).server == server}
        return _pick(own, framework, server, python, where) or _pick(
            table, framework, manager.base, python, where
        )
    return _pick(table, framework, server, python, where)


def _pick(
    table: Mapping[str, T], framework: str, server: str, python: str | None = None, where: str = ""
) -> T | None:
    found = [
        (address.rank, value)
        for key, value in table.items()
        if (address := _parsed(key, where)).matches(framework, server, python)
    ]
    return max(found, key=lambda pair: pair[0])[1] if found else None


@cache
def _parsed(key: str, where: str) -> Address:
    return Address.parse(key, where)


def expand(keys: Iterable[str], where: str = "") -> list[Address]:
    return [Address.parse(key, where) for key in keys]
