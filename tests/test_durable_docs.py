"""docs/durable.md and README's migration block are what the apps render to."""

from durable.render import README_BLOCK, diff
from shared.servers import REPO


def test_a_changed_app_changes_the_diff(tmp_path, monkeypatch) -> None:
    """The diff is read from the files: a line added to a durable app shows up in it."""
    from durable import render

    for name in ("fastapi_app.py", "fastapi_durable_app.py"):
        (tmp_path / "frameworks").mkdir(exist_ok=True)
        (tmp_path / "frameworks" / name).write_text((REPO / "frameworks" / name).read_text())
    with (tmp_path / "frameworks" / "fastapi_durable_app.py").open("a") as f:
        f.write("# a line the page must show\n")
    monkeypatch.setattr(render, "REPO", tmp_path)
    assert "+# a line the page must show" in diff("fastapi")
    assert README_BLOCK[0] not in diff("fastapi")


def test_every_declared_property_names_a_test_that_exists() -> None:
    """Each row of durable/expected.toml is checked by a test function that is really there."""
    from durable.declared import properties

    for name, prop in properties().items():
        path, _, function = prop["measured_by"].partition("::")
        assert f"def {function}(" in (REPO / path).read_text(), f"{name}: {prop['measured_by']} not found"
        assert prop["source"].startswith("https://github.com/") and "/blob/v" in prop["source"], name


def test_every_durable_column_cell_names_a_semantics_property() -> None:
    from conformance.declared import properties as semantics
    from durable.declared import properties

    named = {name for p in properties().values() for name in p.get("semantics", {})}
    assert named and named <= set(semantics()), sorted(named - set(semantics()))
