"""The terminal's matrix fits a 120-column terminal, however many pairs there are."""

from conformance.declared import properties
from conformance.render import WIDTH, matrix


def rows_for(pairs: list[tuple[str, str]]) -> list[dict]:
    return [{"framework": f, "server": s, "tier": "semantics", "property": name, "expected": "x",
             "observed": "function: before, request: after", "passed": n % 3 != 0}
            for n, name in enumerate(properties()) for f, s in pairs]


def test_matrix_lines_fit_the_terminal_at_eight_and_at_sixteen_pairs() -> None:
    for servers in (["uvicorn", "hypercorn"], ["uvicorn", "uvicorn-std", "hypercorn", "granian"]):
        pairs = [(f, s) for f in ("fastapi", "starlette", "litestar", "quart") for s in servers]
        lines = matrix(rows_for(pairs))
        assert max(map(len, lines)) <= WIDTH
        marked = sum(line.count("!") for line in lines if line.startswith("S "))
        assert marked == len(pairs) * len(range(0, len(properties()), 3))


def test_every_pair_has_its_own_abbreviation_in_the_header() -> None:
    servers = ["uvicorn", "uvicorn-std", "hypercorn", "granian"]
    pairs = [(f, s) for f in ("fastapi", "starlette", "litestar", "quart") for s in servers]
    headers = [line.split() for line in matrix(rows_for(pairs)) if line.startswith(" ")]
    shown = [name for header in headers for name in header]
    assert len(shown) == len(set(shown)) == len(pairs)
    assert all(len(header) % len(servers) == 0 for header in headers)  # whole frameworks per block
