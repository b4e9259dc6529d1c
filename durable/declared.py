"""The durable apps' declared properties, for the tests and the pages: durable/expected.toml
(what every engine shares) and durable/engines.toml (what each engine does of its own)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from shared.axes import DEFAULT_ENGINE

__all__ = ["ENGINE_PROPERTIES", "EXPECTED", "declared", "engine_properties", "properties"]

EXPECTED = Path(__file__).with_name("expected.toml")
ENGINE_PROPERTIES = Path(__file__).with_name("engines.toml")


def properties() -> dict[str, dict[str, Any]]:
    return tomllib.loads(EXPECTED.read_text(encoding="utf-8"))


def engine_properties() -> dict[str, dict[str, Any]]:
    return tomllib.loads(ENGINE_PROPERTIES.read_text(encoding="utf-8"))


def declared(prop: str, engine: str = DEFAULT_ENGINE.name) -> Any:
    """The value declared for `prop` on `engine`: its own where the engines differ, else the shared one."""
    own = engine_properties().get(prop)
    if own is not None:
        return own[engine]["value"]
    return properties()[prop]["value"]
