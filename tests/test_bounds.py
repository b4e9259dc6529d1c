"""Every dependency is bounded both ways, and CI runs the `lowest` version set (`nox -s history_quick`),
which proves the lower bounds."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
GROUPS = [r for group in PYPROJECT["dependency-groups"].values() for r in group if isinstance(r, str)]
EXTRAS = [r for extra in PYPROJECT["project"].get("optional-dependencies", {}).values() for r in extra]
BUILD = PYPROJECT["build-system"]["requires"]
REQUIREMENTS = [*PYPROJECT["project"]["dependencies"], *EXTRAS, *GROUPS, *BUILD]


@pytest.mark.parametrize("requirement", REQUIREMENTS)
def test_dependency_has_lower_and_upper_bound(requirement: str) -> None:
    operators = {s.operator for s in Requirement(requirement).specifier}
    assert operators & {">=", ">", "==", "~="}, f"{requirement}: no lower bound"
    assert operators & {"<", "<=", "==", "~="}, f"{requirement}: no upper bound"


def test_lowest_set_covers_every_pair_and_ci_runs_a_historical_set() -> None:
    from conformance.history import load_sets
    from shared.servers import FRAMEWORKS, SERVERS

    tree = ast.parse((REPO / "noxfile.py").read_text(encoding="utf-8"))
    sessions = next(ast.literal_eval(node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                    and ast.unparse(node.targets[0]) == "nox.options.sessions")
    assert "history_quick" in sessions
    sets, ci = load_sets()
    assert ci and all(name in sets for name in ci)
    lowest = sets["lowest"]
    assert lowest.resolution == "lowest-direct" and not lowest.requirements
    assert set(lowest.frameworks) == set(FRAMEWORKS) and set(lowest.servers) == set(SERVERS)
    assert set(lowest.tiers) == {"contract", "semantics"}
