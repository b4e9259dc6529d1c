"""Sessions: `nox` runs the tests and the conformance suite; `nox -l` lists the rest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import nox

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # shared.axes: the records, stdlib only
from shared.axes import ENGINES  # noqa: E402

# Python keeps its bytecode caches in every session (some machines turn them off with
# PYTHONDONTWRITEBYTECODE): the suites start hundreds of server processes, and without the
# caches each one compiles its framework from source again, seconds of CPU apiece.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests", "conformance", "pythons_quick", "history_quick", "reliability_quick",
                        "durable_quick"]
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
#: The Python axis, from pyproject's classifiers (a view of shared/axes.py's records); the first is
#: the default.
PYTHONS = nox.project.python_versions(PYPROJECT)
#: What every session installs: the suite's own dependencies, every server's extra and the
#: reference apps' frameworks (the package installs only the first, and the extras asked for).
DEPENDENCIES = list(dict.fromkeys([  # uvicorn is in two extras: once is enough
    *PYPROJECT["project"]["dependencies"],
    *(r for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra),
    *nox.project.dependency_groups(PYPROJECT, "reference"),
]))
TEST = nox.project.dependency_groups(PYPROJECT, "test")
BENCH = nox.project.dependency_groups(PYPROJECT, "bench")
DOCS = nox.project.dependency_groups(PYPROJECT, "docs")
#: The browser the docs are checked in, from Debian's packages: program -> package.
BROWSER = {"chromium": "chromium"}
DURABLE = nox.project.dependency_groups(PYPROJECT, "durable")
LINT = nox.project.dependency_groups(PYPROJECT, "lint")
#: The load generators, compiled, from Debian's packages: program -> package.
GENERATORS = {"wrk": "wrk", "h2load": "nghttp2-client"}
#: The durable apps' broker, from Debian's package; started by the project's code, never as a service.
BROKER = {"redis-server": "redis-server"}
#: The instruction tier's counter (callgrind, with vgdb to switch it on and dump), from Debian's package.
VALGRIND = {"valgrind": "valgrind", "vgdb": "valgrind"}


def apt_install(session: nox.Session, programs: dict[str, str], what: str) -> None:
    """Install from Debian's packages the programs not on PATH (program -> package)."""
    missing = [package for program, package in programs.items() if not shutil.which(program)]
    if missing:
        session.log(f"installing {what} from Debian's packages: {' '.join(missing)}")
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, external=True,
                    env={"DEBIAN_FRONTEND": "noninteractive"})


def system_python(session: nox.Session) -> None:
    """Debian's own `python3`, externally managed, with its `venv` module: tests/test_front_door.py
    runs the README's first command with it, as a new user on Debian or Ubuntu would."""
    if not os.path.exists("/etc/debian_version"):
        return
    python = "/usr/bin/python3"
    probe = [python, "-c", "import ensurepip, venv"]
    if not (os.path.exists(python) and subprocess.run(probe).returncode == 0):
        session.log("installing Debian's python3 and its venv module")
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "python3", "python3-venv",
                    external=True, env={"DEBIAN_FRONTEND": "noninteractive"})


def install(session: nox.Session, *extra: str) -> None:
    session.install(*DEPENDENCIES, *TEST, *extra)
    session.env["PYTHONPATH"] = str(session.invoked_from)
    use_uv(session)


def use_uv(session: nox.Session) -> None:
    """The uv that nox found, for `conformance.history`'s environments (and its tests)."""
    has_uv, uv, *_ = nox.virtualenv.find_uv()
    session.env["AFTERWARD_UV"] = uv if has_uv else "uv"


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check (all), ruff format --check and mypy (shared/, conformance/, pages/): first, to fail fast."""
    install(session, *DURABLE, *LINT)  # mypy checks against the real packages' own annotations
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "shared", "conformance", "pages")  # the rest: its hand layout
    session.run("mypy")  # files and options: [tool.mypy] in pyproject.toml


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests of shared/, and the tests of the suite itself (wrong apps, docs freshness)."""
    apt_install(session, VALGRIND, "valgrind")  # the instruction tier's quick run (test_bench_instructions)
    install(session, *DURABLE)  # the reliability checks' durable module imports redis-py
    system_python(session)
    session.run("python", "-m", "pytest", "tests", "-n", "2", *session.posargs)


@nox.session
def conformance(session: nox.Session) -> None:
    """The conformance suite on real servers: matrix, reports/conformance.json, docs/semantics.md."""
    install(session)
    session.run("python", "-m", "conformance", *session.posargs)


@nox.session
def pages(session: nox.Session) -> None:
    """Every generated file (pages, README's blocks, pyproject's extras) from the committed tables and data,
    in seconds, starting no server; `-- --check` names the stale ones."""
    install(session)
    session.run("python", "-m", "pages", *session.posargs)


@nox.session
def pythons(session: nox.Session) -> None:
    """Both tiers on all 16 pairs on each Python of the axis (environments made with uv); a missing
    interpreter is one line and the others still run: reports/pythons.json, docs/pythons/observed.json."""
    install(session)
    session.run("python", "-m", "conformance.pythons", *(session.posargs or PYTHONS))


@nox.session
def pythons_quick(session: nox.Session) -> None:
    """What CI runs of the Python axis: both tiers on the sample pairs, on the axis' last Python."""
    install(session)
    session.run("python", "-m", "conformance.pythons", "--sample", *(session.posargs or PYTHONS[-1:]))


@nox.session
def flips(session: nox.Session) -> None:
    """The semantics tier against wrong probes: every cell a mismatch, timing ones 20 times
    (reports/flips.json)."""
    install(session)
    session.run("python", "-m", "conformance.flips", *(session.posargs or ["--repeat", "20"]))


def run_history(session: nox.Session, *args: str) -> None:
    """`python -m conformance.history`: each version set in an environment of its own, made with uv."""
    # What the controller imports (conformance.declared, shared.servers); each set installs the rest.
    session.install("packaging>=24,<27", *[r for r in DEPENDENCIES if r.startswith("httpx")])
    use_uv(session)
    session.env["PYTHONPATH"] = str(session.invoked_from)
    session.run("python", "-m", "conformance.history", *args)


@nox.session(venv_backend="uv")
def history(session: nox.Session) -> None:
    """The semantics matrix on every set of older releases (conformance/versions.toml): reports/history.json,
    docs/versions.md; `-- SET ...` for some sets."""
    run_history(session, *session.posargs)


@nox.session(venv_backend="uv")
def history_quick(session: nox.Session) -> None:
    """What CI runs of the history: the lowest releases pyproject allows, and one historical set."""
    run_history(session, "--ci", "--report", "reports/history-ci.json", *session.posargs)


@nox.session(venv_backend="uv")
def lowest(session: nox.Session) -> None:
    """Both conformance tiers on the lowest releases pyproject allows: reports/history-lowest.json."""
    run_history(session, "lowest", "--merge", "--report", "reports/history-lowest.json", *session.posargs)


@nox.session
def wrong_apps(session: nox.Session) -> None:
    """Every wrong variant of the from-scratch app (tests/byo/wrong), each caught with its clause named
    (the default run checks one per clause)."""
    install(session)
    session.env["AFTERWARD_ALL_WRONG_APPS"] = "1"
    session.run("python", "-m", "pytest", "tests/test_byo.py", "-n", "2", *session.posargs)


@nox.session
def mutation(session: nox.Session) -> None:
    """Mutants of shared/ and the four apps against the contract tier: docs/mutation.md (`-- --sample`).
    The mutants declared killed by a longer session's test (a durable one among them) meet that test;
    then the independent apps' one-clause mutants (`-- --independent` alone)."""
    apt_install(session, BROKER, "the broker")
    install(session, *DURABLE)
    session.run("python", "-m", "mutation", *(session.posargs or ["--jobs", "2"]))
    if not session.posargs:
        session.run("python", "-m", "mutation", "--independent")


@nox.session
def demo(session: nox.Session) -> None:
    """Start the SMTP sink and one app (`-- quart hypercorn`) and watch the e-mails land."""
    install(session)
    session.run("python", "-m", "shared.demo", *session.posargs)


@nox.session
def reliability(session: nox.Session) -> None:
    """The full reliability checks (10,000 requests per pair, ...): writes docs/reliability.md."""
    apt_install(session, BROKER, "the broker")
    install(session, *DURABLE)
    session.run("python", "-m", "reliability", "--full", *session.posargs)


@nox.session
def managers(session: nox.Session) -> None:
    """The contract tier and a deployment's properties under each process manager (shared/axes.py's
    MANAGERS: each a server of the axis with 2 workers): docs/managers/observed.json,
    docs/moves/managers.md; `-- gunicorn` for one."""
    install(session)
    session.run("python", "-m", "conformance.managers", *session.posargs)


#: The quick reliability run's frameworks: every server, under an anyio-based framework (FastAPI) and
#: under Quart's own tasks; the full run has all four. `-- --framework NAME` picks others.
RELIABILITY_SAMPLE = ("--framework", "fastapi", "--framework", "quart")


@nox.session
def reliability_quick(session: nox.Session) -> None:
    """The same reliability checks at CI size: 2 frameworks x 4 servers (one durable SIGKILL case: the
    worker's, on one pair)."""
    apt_install(session, BROKER, "the broker")
    install(session, *DURABLE)
    chosen = any(a.startswith(("--framework", "--app")) for a in session.posargs)
    session.run("python", "-m", "reliability", *([] if chosen else RELIABILITY_SAMPLE), *session.posargs)


#: The durable checks' pytest run: one Redis and one worker per test process.
DURABLE_RUN = ("python", "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider")
#: What the durable checks run on an engine besides Celery, in its own environment (no Celery in
#: it): the contract tier, the broker checks, the properties shared with Celery and its own.
ENGINE_TESTS = ("durable/test_contract.py", "durable/test_broker.py", "durable/test_semantics.py",
                "durable/test_engines.py")


def durable_env(session: nox.Session, engine: str) -> None:
    apt_install(session, BROKER, "the broker")
    install(session, *nox.project.dependency_groups(PYPROJECT, ENGINES[engine].group))


def durable_tests(engine: str) -> tuple[str, ...]:
    """Celery: every durable check on every pair. Another engine: its checks, the four frameworks
    under uvicorn (the worker, not the server, is what the engine changes)."""
    return ("durable",) if engine == "celery" else (*ENGINE_TESTS, "--engine", engine, "--server", "uvicorn")


@nox.session
@nox.parametrize("engine", list(ENGINES))
def durable(session: nox.Session, engine: str) -> None:
    """The durable apps on each engine (shared/axes.py's ENGINES, on Redis): the contract tier on
    every framework, with Celery's broker checks on every pair; `-s "durable(engine='arq')"` for one."""
    durable_env(session, engine)
    session.run(*DURABLE_RUN, *durable_tests(engine), "--observed", QUEUES_OBSERVED, *session.posargs)
    session.run("python", "-m", "pages")  # docs/queues.md and reliability.md's rows per engine


#: Where the engine checks keep what they saw (docs/queues.md's "measured").
QUEUES_OBSERVED = "docs/queues/observed"


#: The second engine CI runs, on one pair (FastAPI on uvicorn): the contract tier, and its
#: redelivery after a worker's SIGKILL (`nox -s durable` runs the rest, and the wrong variants).
QUICK_ENGINE = "dramatiq"
QUICK_ENGINE_CHECKS = ("durable/test_contract.py", "durable/test_engines.py", "-k",
                       "contract or killed_workers")


@nox.session
def durable_quick(session: nox.Session) -> None:
    """The durable checks at CI size, on FastAPI's durable app under uvicorn. On Celery: the broker,
    task, stop and semantics checks, the wrong apps, and scale-out (not its wrong variants, 15-30 s
    each, nor the engine checks). Then on one engine more, in its own environment: the contract
    tier (the same tests on the same pair as Celery's, which `nox -s durable` runs on every pair)
    and a worker's SIGKILL."""
    durable_env(session, "celery")
    session.run(*DURABLE_RUN, "durable", "--framework", "fastapi", "--server", "uvicorn", "-k",
                "not (scale_out and caught)", "--ignore", "durable/test_contract.py", "--ignore",
                "durable/test_engines.py", *session.posargs)
    durable_env(session, QUICK_ENGINE)  # over Celery's: its group pins what it needs
    session.run(*DURABLE_RUN, *QUICK_ENGINE_CHECKS, "--engine", QUICK_ENGINE, "--framework", "fastapi",
                "--server", "uvicorn", *session.posargs)


@nox.session
def durable_demo(session: nox.Session) -> None:
    """Start Redis, a Celery worker, a durable app (`-- quart hypercorn`) and the sink; watch one land."""
    apt_install(session, BROKER, "the broker")
    install(session, *DURABLE)
    session.run("python", "-m", "durable.demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """What a background task costs, against a bare-ASGI ceiling, and what enqueueing costs:
    docs/benchmarks.md (`-- --quick`, `-- --durable`)."""
    apt_install(session, {**GENERATORS, **BROKER}, "the load generators and the broker")
    install(session, *BENCH, *DURABLE)  # the durable apps' enqueue cost and delivery rate
    session.run("python", "-m", "bench", *session.posargs)


@nox.session
def instructions(session: nox.Session) -> None:
    """Instructions per request under callgrind, every target, 2 runs: the stable tier of
    docs/benchmarks.md (`-- --quick`, `-- --only PAIR`, `-- --baseline FILE`)."""
    apt_install(session, VALGRIND, "valgrind")
    install(session, *BENCH)
    session.run("python", "-m", "bench.instructions", *session.posargs)


@nox.session
def recipes(session: nox.Session) -> None:
    """Each recipe (recipes/) applied to the probe changes exactly the cells it claims; wrong claims fail."""
    install(session)
    session.run("python", "-m", "conformance.recipes", *session.posargs)
    if not session.posargs:
        session.run("python", "-m", "conformance.recipes", "--wrong")


@nox.session
def docs(session: nox.Session) -> None:
    """The site: pages, `mkdocs build --strict` (build/site), checked in Chromium; `-- build`, `-- serve`."""
    install(session, *DOCS)
    session.env["NO_MKDOCS_2_WARNING"] = "1"
    session.run("python", "-m", "pages")  # the site's pages, the matrix among them, from the committed data
    if session.posargs[:1] == ["serve"]:
        address = session.posargs[1] if len(session.posargs) > 1 else "127.0.0.1:8000"
        session.run("python", "-m", "mkdocs", "serve", "--strict", "--dev-addr", address)
        return
    session.run("python", "-m", "mkdocs", "build", "--strict")
    if session.posargs[:1] == ["build"]:  # no browser: the build's own link and anchor checks only
        return
    apt_install(session, BROWSER, "the browser")
    session.run("python", "-m", "docs_site.browser", "--self-test")
    session.run("python", "-m", "docs_site.browser", "build/site", "--screenshots", "docs/screenshots")
