import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests parametrized by server alone (the four apps at once) share a worker per server.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "server" in callspec.params and "pair" not in callspec.params:
            item.add_marker(pytest.mark.xdist_group(f"all-{callspec.params['server']}"))
