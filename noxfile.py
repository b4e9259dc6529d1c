"""Sessions: `nox` runs the tests and the conformance suite; `nox -l` lists the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "conformance", "lowest", "reliability_quick"]
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
DEPENDENCIES = PYPROJECT["project"]["dependencies"]
TEST = nox.project.dependency_groups(PYPROJECT, "test")
BENCH = nox.project.dependency_groups(PYPROJECT, "bench")
#: What the `lowest` session runs the suite with; they resolve normally, within what is installed.
TOOLS = [r for r in TEST if Requirement(r).name in ("pytest", "pytest-xdist")]
#: Prints `name==version` for every installed distribution: the record and the constraints.
FREEZE = ("import importlib.metadata as m; "
          "print(*sorted({f'{d.name}=={d.version}' for d in m.distributions()}), sep='\\n')")
#: The load generators, compiled, from Debian's packages: program -> package.
GENERATORS = {"wrk": "wrk", "h2load": "nghttp2-client"}


def install(session: nox.Session, *extra: str) -> None:
    session.install(*DEPENDENCIES, *TEST, *extra)
    session.env["PYTHONPATH"] = str(session.invoked_from)


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests of shared/, and the tests of the suite itself (wrong apps, docs freshness)."""
    install(session)
    session.run("python", "-m", "pytest", "tests", "-n", "2", *session.posargs)


@nox.session
def conformance(session: nox.Session) -> None:
    """The conformance suite on real servers: matrix, reports/conformance.json, docs/semantics.md."""
    install(session)
    session.run("python", "-m", "conformance", *session.posargs)


@nox.session
def flips(session: nox.Session) -> None:
    """The semantics tier against wrong probes: every cell a mismatch, timing ones 20 times (reports/flips.json)."""
    install(session)
    session.run("python", "-m", "conformance.flips", *(session.posargs or ["--repeat", "20"]))


@nox.session(venv_backend="uv")
def lowest(session: nox.Session) -> None:
    """Both conformance tiers on the lowest releases pyproject allows: reports/conformance-lowest.json."""
    session.install("--resolution", "lowest-direct", *DEPENDENCIES)
    frozen = session.run_install("python", "-c", FREEZE, silent=True)
    if frozen is not None:  # None when installs are skipped (`-R`)
        session.log("installed (lowest-direct):\n" + frozen)
        constraints = Path(session.create_tmp()) / "lowest.txt"
        constraints.write_text(frozen)
        session.install("--constraint", str(constraints), *TOOLS)  # never moves a dependency
    session.env["PYTHONPATH"] = str(session.invoked_from)
    session.run("python", "-m", "conformance", "--report", "reports/conformance-lowest.json", "--no-docs",
                *session.posargs)


@nox.session
def mutation(session: nox.Session) -> None:
    """Mutants of shared/ and the four apps against the contract tier: docs/mutation.md (`-- --sample`)."""
    install(session)
    session.run("python", "-m", "mutation", *(session.posargs or ["--jobs", "2"]))


@nox.session
def demo(session: nox.Session) -> None:
    """Start the SMTP sink and one app (`-- quart hypercorn`) and watch the e-mails land."""
    install(session)
    session.run("python", "-m", "shared.demo", *session.posargs)


@nox.session
def reliability(session: nox.Session) -> None:
    """The full reliability checks (10,000 requests per pair, ...): writes docs/reliability.md."""
    install(session)
    session.run("python", "-m", "reliability", "--full", *session.posargs)


@nox.session
def reliability_quick(session: nox.Session) -> None:
    """The same reliability checks at CI size."""
    install(session)
    session.run("python", "-m", "reliability", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """What a background task costs, against a bare-ASGI ceiling: docs/benchmarks.md (`-- --quick`)."""
    missing = [package for program, package in GENERATORS.items() if not shutil.which(program)]
    if missing:
        session.log(f"installing the load generators from Debian's packages: {' '.join(missing)}")
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", *missing, external=True,
                    env={"DEBIAN_FRONTEND": "noninteractive"})
    install(session, *BENCH)
    session.run("python", "-m", "bench", *session.posargs)
