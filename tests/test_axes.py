"""A variant is one record: a sixth server, added to a copy of the tree in one place, shows up in
every tier's parametrization, in the pages and in the package's extras."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conformance.address import Address, pick
from shared.axes import FRAMEWORKS, MANAGERS, PYTHONS, RUNNABLE, SERVERS
from shared.servers import REPO

#: uvicorn with h11 on uvloop: a combination no record runs, built from the uvicorn record's maker.
SIXTH = '''
_SERVERS = (*_SERVERS, _uvicorn(
    "uvicorn-h11-uvloop", "h11", "uvloop", "uvicorn with h11 on uvloop",
    {"uvicorn>=0.30,<1": "", "uvloop>=0.23,<1": ""}, ("uvicorn", "h11", "uvloop"),
))
_MANAGERS = (*_MANAGERS, _managed(
    _BY_NAME["uvicorn"], "uvicorn-h11-workers", "uvicorn --workers 2 on h11",
    recycle_after_one=("--limit-max-requests", "1"),
))
'''


def _copy(tmp: Path) -> Path:
    """The tracked files of this checkout (as they are in the work tree), in `tmp`."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True)
    for name in filter(None, files.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp / name)
    return tmp


def _run(tree: Path, *args: str) -> str:
    # The full reliability run: the quick one keeps some checks on its first pair only.
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
           "AFTERWARD_RELIABILITY": "full"}
    done = subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def sixth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = _copy(tmp_path_factory.mktemp("tree"))
    axes = tree / "shared" / "axes.py"
    text = axes.read_text()
    marker = "\n_FRAMEWORKS = ("
    axes.write_text(text.replace(marker, SIXTH + marker, 1))
    return tree


def _server_of(params: str, names: list[str]) -> str | None:
    """The server a test id's parameters name (`fastapi-uvicorn-std-async` -> `uvicorn-std`)."""
    for name in sorted(names, key=len, reverse=True):
        if f"-{name}-" in f"-{params}-":
            return name
    return None


def test_a_sixth_server_is_one_record_in_every_tier(sixth: Path) -> None:
    """Every contract and reliability test that runs on uvicorn runs on the sixth server too, and
    the semantics tier measures it wherever the declared table has a value for every server."""
    collected = _run(sixth, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                     "conformance/test_contract.py", "conformance/test_semantics.py", "reliability")
    names = [*SERVERS, "uvicorn-h11-uvloop"]
    on: dict[tuple[str, str], set[str]] = {}
    for line in collected.splitlines():
        if "::" not in line or "[" not in line:
            continue
        path, _, test = line.partition("::")
        function, _, params = test.partition("[")
        server = _server_of(params.rstrip("]"), names)
        tier = "reliability" if path.startswith("reliability") else Path(path).stem
        if server is not None:
            on.setdefault((tier, server), set()).add(function)
    for tier in ("test_contract", "reliability"):
        assert on.get((tier, "uvicorn")), tier
        assert on.get((tier, "uvicorn-h11-uvloop")) == on[tier, "uvicorn"], tier
    assert "test_tasks_run_sequentially" in on.get(("test_semantics", "uvicorn-h11-uvloop"), set())


def test_a_sixth_server_has_its_pages_and_its_extra(sixth: Path) -> None:
    _run(sixth, "-m", "pages")
    semantics = (sixth / "docs" / "semantics.md").read_text()
    assert "| fastapi | uvicorn-h11-uvloop |" in semantics
    matrix = (sixth / "docs" / "matrix.md").read_text()
    data = json.loads(matrix.split('id="afw-matrix-data">', 1)[1].split("</script>", 1)[0])
    assert "uvicorn-h11-uvloop" in data["servers"]  # the matrix's filters offer it and its cells cover it
    assert "uvicorn-h11-uvloop" in (sixth / "docs" / "moves" / "servers.md").read_text()
    # A fifth process manager is a column of the managers' page, and a choice of their run.
    assert "| uvicorn-h11-workers |" in (sixth / "docs" / "moves" / "managers.md").read_text()
    assert "uvicorn-h11-workers" in _run(sixth, "-m", "conformance.managers", "--help")
    extras = tomllib.loads((sixth / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["uvicorn-h11-uvloop"] == ["uvicorn>=0.30,<1", "uvloop>=0.23,<1"]
    # ... and it runs with the HTTP implementation and loop its record names.
    command = _run(sixth, "-c", "from shared.servers import LiveServer; "
                   "print(LiveServer('frameworks.quart_app:app', 'uvicorn-h11-uvloop').command(3))")
    assert "'--http', 'h11', '--loop', 'uvloop'" in command


def test_the_extras_are_the_server_records() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    wanted = {name: list(record.requires) for name, record in RUNNABLE.items()
              if record.requires or not record.manager}
    assert extras == wanted
    assert set(SERVERS) <= set(extras) and "gunicorn" in extras  # a manager with packages of its own


def test_the_pythons_are_the_classifiers() -> None:
    classifiers = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["classifiers"]
    versions = [c.rpartition(" ")[2] for c in classifiers if c.startswith("Programming Language")]
    assert versions == list(PYTHONS)


def test_a_missing_python_is_one_line() -> None:
    from shared.axes import Python

    absent = Python("3.99")
    assert absent.find() is None
    assert absent.missing.startswith("Python 3.99: not found") and "\n" not in absent.missing


def test_a_python_found_runs_as_that_version() -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = PYTHONS[here].find()
    assert found is not None
    out = subprocess.run([str(found), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == str(tuple(sys.version_info[:2]))


def test_the_most_specific_address_wins() -> None:
    table = {"*": 0, "quart": 1, "*.hypercorn": 2, "quart.hypercorn": 3, "quart@3.12+": 4, "quart@3.13": 5}
    assert pick(table, "fastapi", "uvicorn", "3.11") == 0
    assert pick(table, "fastapi", "hypercorn", "3.11") == 2
    assert pick(table, "quart", "uvicorn", "3.11") == 1  # the framework's own over the server's
    assert pick(table, "quart", "granian", "3.12") == 4
    assert pick(table, "quart", "granian", "3.13") == 5  # one Python over a range
    assert pick(table, "quart", "hypercorn", "3.13") == 3  # two parts named over one and a Python


def test_a_managers_cell_is_its_servers_unless_a_table_names_it() -> None:
    manager = next(m for m in MANAGERS.values() if m.base == "hypercorn")
    table = {"*": 0, "quart": 1, "*.hypercorn": 2, "quart.hypercorn": 3}
    assert pick(table, "fastapi", manager.name, "3.11") == 2  # its server's
    assert pick(table, "quart", manager.name, "3.11") == 3
    named = {**table, f"*.{manager.name}": 4}
    assert pick(named, "fastapi", manager.name, "3.11") == 4
    assert pick(named, "quart", manager.name, "3.11") == 4  # named: over the server's pair too
    assert pick(named, "quart", "hypercorn", "3.11") == 3  # the server alone is untouched
    assert all(m.base in SERVERS and m.workers > 1 for m in MANAGERS.values())


def test_an_address_naming_nothing_known_is_refused() -> None:
    for bad in ("fastpi", "*.uvicron", "quart@3.9", "quart@2.7+"):
        with pytest.raises(ValueError, match="no (framework|server|Python)"):
            Address.parse(bad, "t.toml [p]")
    assert str(Address.parse("quart.hypercorn@3.12+")) == "quart.hypercorn@3.12+"
    assert set(FRAMEWORKS) and set(SERVERS)


def test_the_newest_server_is_named_in_code_only_by_its_record() -> None:
    """Outside `tests/`, the one Python module that names granian (the server added last) is
    `shared/axes.py`, its record: every other module takes the servers from the records."""
    files = subprocess.run(["git", "ls-files", "-z", "*.py"], cwd=REPO, capture_output=True, text=True,
                           check=True)
    modules = [REPO / n for n in filter(None, files.stdout.split("\0")) if not n.startswith("tests/")]
    naming = [str(m.relative_to(REPO)) for m in modules
              if m.is_file() and "granian" in m.read_text(encoding="utf-8").lower()]
    assert naming == ["shared/axes.py"], naming
