"""The engine axis (shared/axes.py's ENGINES): what picks an engine, and what a wrong name gets."""

from __future__ import annotations

import subprocess
import sys

from shared.axes import ENGINES
from shared.servers import REPO


def test_an_unknown_engine_is_one_line_naming_the_engines() -> None:
    """`AFTERWARD_ENGINE` names no record: the app does not start, and says which names there are."""
    done = subprocess.run([sys.executable, "-c", "import durable.queue"], cwd=REPO, capture_output=True,
                          text=True, env={"AFTERWARD_ENGINE": "rq", "PYTHONPATH": str(REPO)}, timeout=60)
    assert done.returncode == 1
    names = ", ".join(ENGINES)
    assert done.stderr.strip() == f"AFTERWARD_ENGINE='rq': no such engine; the engines are {names}"


def test_each_engine_has_its_group_and_its_module() -> None:
    """An engine is one record: its dependency group is in pyproject, its module on disk."""
    import tomllib

    groups = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["dependency-groups"]
    for engine in ENGINES.values():
        assert engine.group in groups, engine.name
        assert (REPO / (engine.module.replace(".", "/") + ".py")).exists(), engine.name
        assert engine.package in " ".join(map(str, groups[engine.group])), engine.name
