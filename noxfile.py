"""Sessions: `nox` runs the tests and the conformance suite; `nox -l` lists the rest."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "conformance", "reliability_quick"]
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
DEPENDENCIES = PYPROJECT["project"]["dependencies"]
TEST = nox.project.dependency_groups(PYPROJECT, "test")


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
