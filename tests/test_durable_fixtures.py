"""The durable contract run serves the durable twins: every fixture of the contract tier that
starts the app under test is overridden in durable/conftest.py (one that is not would test the
in-process app there, and pass)."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def fixtures(path: Path) -> dict[str, ast.FunctionDef]:
    found = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and any(
            "pytest.fixture" in ast.unparse(d) for d in node.decorator_list
        ):
            found[node.name] = node
    return found


def starts_the_app(node: ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.Call) and ast.unparse(n.func) == "start_live" for n in ast.walk(node))


def test_every_fixture_that_starts_the_app_has_a_durable_twin() -> None:
    contract = {n for n, f in fixtures(REPO / "conformance" / "fixtures.py").items() if starts_the_app(f)}
    assert {"live", "fresh_live", "configured", "tuned", "defaults"} <= contract  # the check sees them
    missing = sorted(contract - set(fixtures(REPO / "durable" / "conftest.py")))
    assert not missing, f"not overridden in durable/conftest.py, so serving the in-process app: {missing}"
