"""Sessions: `nox` runs the tests and the conformance suite; `nox -l` lists the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "conformance", "lowest", "reliability_quick", "durable_quick"]
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
DEPENDENCIES = PYPROJECT["project"]["dependencies"]
TEST = nox.project.dependency_groups(PYPROJECT, "test")
BENCH = nox.project.dependency_groups(PYPROJECT, "bench")
DURABLE = nox.project.dependency_groups(PYPROJECT, "durable")
#: What the `lowest` session runs the suite with; they resolve normally, within what is installed.
TOOLS = [r for r in TEST if Requirement(r).name in ("pytest", "pytest-xdist")]
#: Prints `name==version` for every installed distribution: the record and the constraints.
FREEZE = ("import importlib.metadata as m; "
          "print(*sorted({f'{d.name}=={d.version}' for d in m.distributions()}), sep='\\n')")
#: The load generators, compiled, from Debian's packages: program -> package.
GENERATORS = {"wrk": "wrk", "h2load": "nghttp2-client"}
#: The durable apps' broker, from Debian's package; started by the project's code, never as a service.
BROKER = {"redis-server": "redis-server"}


def debian(session: nox.Session, programs: dict[str, str]) -> None:
    """Install the Debian packages of the programs (program -> package) that are missing."""
    missing = [package for program, package in programs.items() if not shutil.which(program)]
    if missing:
        session.log(f"installing from Debian's packages: {' '.join(missing)}")
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", *missing, external=True,
                    env={"DEBIAN_FRONTEND": "noninteractive"})


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
def demo(session: nox.Session) -> None:
    """Start the SMTP sink and one app (`-- quart hypercorn`) and watch the e-mails land."""
    install(session)
    session.run("python", "-m", "shared.demo", *session.posargs)


@nox.session
def reliability(session: nox.Session) -> None:
    """The full reliability checks (10,000 requests per pair, ...): writes docs/reliability.md."""
    debian(session, BROKER)
    install(session, *DURABLE)
    session.run("python", "-m", "reliability", "--full", *session.posargs)


@nox.session
def reliability_quick(session: nox.Session) -> None:
    """The same reliability checks at CI size (one durable SIGKILL case: the worker's, on one pair)."""
    debian(session, BROKER)
    install(session, *DURABLE)
    session.run("python", "-m", "reliability", *session.posargs)


#: The durable checks' pytest run: one Redis and one worker per test process.
DURABLE_RUN = ("python", "-m", "pytest", "durable", "-n", "2", "--dist", "loadgroup",
               "-p", "no:cacheprovider")


@nox.session
def durable(session: nox.Session) -> None:
    """The durable apps (Celery on Redis): the contract tier and the broker checks, on every pair."""
    debian(session, BROKER)
    install(session, *DURABLE)
    session.run(*DURABLE_RUN, *session.posargs)


@nox.session
def durable_quick(session: nox.Session) -> None:
    """The same durable checks at CI size: FastAPI's durable app under uvicorn, and the wrong apps."""
    debian(session, BROKER)
    install(session, *DURABLE)
    session.run(*DURABLE_RUN, "--framework", "fastapi", "--server", "uvicorn", *session.posargs)


@nox.session
def durable_demo(session: nox.Session) -> None:
    """Start Redis, a Celery worker, a durable app (`-- quart hypercorn`) and the sink; watch one land."""
    debian(session, BROKER)
    install(session, *DURABLE)
    session.run("python", "-m", "durable.demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """What a background task costs, against a bare-ASGI ceiling: docs/benchmarks.md (`-- --quick`)."""
    debian(session, GENERATORS)
    install(session, *BENCH)
    session.run("python", "-m", "bench", *session.posargs)
