"""Clause 2: `write_log`, the article's log task."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shared.recorder import record

__all__ = ["LOG_ENV", "log_path", "write_log"]

LOG_ENV = "AFTERWARD_LOG_PATH"


def log_path() -> Path:
    return Path(os.environ.get(LOG_ENV) or Path(tempfile.gettempdir()) / "afterward.log")


def write_log(message: str) -> None:
    with log_path().open("a", encoding="utf-8") as f:
        f.write(message + "\n")
    record("log_written", message)
