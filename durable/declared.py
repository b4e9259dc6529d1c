"""The durable apps' declared properties (durable/expected.toml), for the tests and the page."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

__all__ = ["EXPECTED", "declared", "properties"]

EXPECTED = Path(__file__).with_name("expected.toml")


def properties() -> dict[str, dict[str, Any]]:
    return tomllib.loads(EXPECTED.read_text(encoding="utf-8"))


def declared(prop: str) -> Any:
    return properties()[prop]["value"]
