"""Turns test outcomes into report rows, shows progress, prints the matrix, writes the report.

Every conformance test leaves one row per measurement in its report's `user_properties`
(which pytest-xdist carries from the workers); the controlling process collects them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from conformance import render
from conformance.declared import cell, properties
from conformance.fixtures import NOT_APPLICABLE, Pair, params_of
from conformance.recipes import overlay
from shared.servers import FRAMEWORKS, SERVERS, python_version

KEY = "afterward"
rows_key = pytest.StashKey[list[dict[str, Any]]]()
taken_key = pytest.StashKey[dict[str, int]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("afterward")
    group.addoption("--report", metavar="PATH", help="write the JSON report here and print the matrix")
    group.addoption(
        "--write-docs", action="store_true", help="also write the pages (`python -m pages`) when all passed"
    )


def _row(
    pair: Pair, tier: str, prop: str, expected: Any, observed: Any, passed: bool, **extra: Any
) -> dict[str, Any]:
    if pair.flip is not None:  # a wrong probe's row: `passed` False is what its run wants
        extra["flip"] = pair.flip.describe()
    if pair.recipe:
        extra["recipe"] = pair.recipe
    return {
        "framework": pair.framework,
        "server": pair.server,
        "python": python_version(),
        "tier": tier,
        "property": prop,
        "expected": expected,
        "observed": observed,
        "passed": passed,
        **extra,
    }


def resolve(value: Any) -> Any:
    """Declared values that are rules (`"=min(32, cpus + 4)"`) become this machine's number."""
    if isinstance(value, str) and value.startswith("="):
        return eval(value[1:], {"__builtins__": {"min": min, "max": max}}, {"cpus": os.cpu_count() or 1})
    return value


@pytest.fixture
def expected(request: pytest.FixtureRequest, pair: Pair) -> Any:
    """The declared value of this test's property for this pair (rules resolved)."""
    prop = request.node.originalname.removeprefix("test_")
    declared = overlay(
        cell(prop, pair.framework, pair.server), pair.recipe, prop, pair.framework, pair.server
    )
    return None if declared is None else resolve(declared.value)


def agrees(observed: Any, expected: Any, tolerance: float = 0.0) -> bool:
    """Equal, or for numbers, within the method's resolution."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (observed, expected))
    if numbers and tolerance:
        return abs(observed - expected) <= tolerance + 1e-9
    return observed == expected


@pytest.fixture
def check(request: pytest.FixtureRequest, pair: Pair) -> Callable[..., None]:
    """`check(observed, **also)` compares a measurement, and the further observations its
    property declares (`also`), with the declared cell, and records the row."""
    prop = request.node.originalname.removeprefix("test_")

    def compare(observed: Any, **extra: Any) -> None:
        declared = overlay(
            cell(prop, pair.framework, pair.server), pair.recipe, prop, pair.framework, pair.server
        )
        assert declared is not None, f"{prop} has no declared cell for {pair}"
        expected = resolve(declared.value)
        shown = expected if expected == declared.value else f"{declared.value[1:]} = {expected}"
        problems = (
            []
            if agrees(observed, expected, declared.tolerance)
            else [
                f"declared {shown!r}, observed {observed!r}"
                + (f" (tolerance ±{declared.tolerance:g})" if declared.tolerance else "")
            ]
        )
        for key, want in declared.also.items():
            got = extra.get(key, "not reported")
            if got != want:
                problems.append(f"{key}: declared {want!r}, observed {got!r}")
        if declared.tolerance:
            extra["tolerance"] = declared.tolerance
        if declared.also:
            extra["also_expected"] = declared.also
        request.node.user_properties.append(
            (KEY, _row(pair, "semantics", prop, shown, observed, not problems, **extra))
        )
        assert not problems, (
            f"{prop} [{pair}]: {'; '.join(problems)} (see {declared.source or 'conformance/expected.toml'})"
        )

    return compare


@pytest.fixture
def metric(request: pytest.FixtureRequest) -> Callable[..., bool]:
    """`metric(pair, name, observed, expected=None)` records a reliability measurement; returns passed."""

    def record_metric(pair: Pair, name: str, observed: Any, expected: Any = None, **extra: Any) -> bool:
        passed = expected is None or observed == expected
        request.node.user_properties.append(
            (
                KEY,
                _row(
                    pair,
                    "reliability",
                    name,
                    "-" if expected is None else expected,
                    observed,
                    passed,
                    **extra,
                ),
            )
        )
        return passed

    return record_metric


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    params = params_of(item)
    pair = params.get("pair")
    if pair is None and "server" in params:
        pair = Pair("all", params["server"], "")
    if not isinstance(pair, Pair) or not (report.when == "call" or report.failed or report.skipped):
        return report
    assert isinstance(item, pytest.Function)  # parametrized: only a Function has parameters
    marker = item.get_closest_marker("clause")
    if report.skipped:  # only a test that cannot run in this mode skips, and says why
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if marker is not None and reason.startswith(NOT_APPLICABLE):
            report.user_properties.append(
                (
                    KEY,
                    _row(
                        pair,
                        "contract",
                        _prop(item),
                        "pass",
                        "n/a",
                        True,
                        clause=marker.args[0],
                        reason=reason.removeprefix(NOT_APPLICABLE),
                    ),
                )
            )
        return report
    mine = [row for key, row in report.user_properties if key == KEY]
    message = report.longreprtext.strip().splitlines()[-1][:300] if report.failed else ""
    prop = _prop(item)
    if marker is not None and not mine:
        report.user_properties.append(
            (
                KEY,
                _row(
                    pair,
                    "contract",
                    prop,
                    "pass",
                    "pass" if report.passed else "fail",
                    report.passed,
                    clause=marker.args[0],
                    message=message,
                ),
            )
        )
    elif report.failed and all(row["passed"] for row in mine):
        # No row explains this failure (none recorded yet, or the test failed after recording
        # rows that passed, or in its teardown): it becomes a failing row of its own, so the
        # report can never say "0 mismatches" for a run pytest failed.
        tier = "reliability" if "reliability" in str(item.path) else "semantics"
        what = "error" if not mine else f"error after measuring ({report.when})"
        report.user_properties.append((KEY, _row(pair, tier, prop, "measured", f"{what}: {message}", False)))
    return report


def _prop(item: pytest.Function) -> str:
    """A test's row name: the behaviour it pins, and its parameters other than the pair."""
    extra = [
        str(v) for k, v in params_of(item).items() if k not in ("pair", "server", "framework", "repetition")
    ]
    return item.originalname.removeprefix("test_") + (f"[{'-'.join(extra)}]" if extra else "")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[rows_key] = []
    config.stash[taken_key] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = _config
    if config is None or hasattr(config, "workerinput"):
        return
    if not (report.when == "call" or report.failed or report.skipped):
        return
    # user_properties ride on every phase's report: take each row once, in the order recorded.
    ours = [row for key, row in report.user_properties if key == KEY and isinstance(row, dict)]
    taken = config.stash[taken_key]
    fresh = ours[taken.get(report.nodeid, 0) :]
    taken[report.nodeid] = len(ours)
    rows = config.stash[rows_key]
    tw = config.pluginmanager.get_plugin("terminalreporter")
    for row in fresh:
        rows.append(row)
        if tw is not None and config.getoption("--report"):
            mark = "ok " if row["passed"] else "MISMATCH" if row["tier"] == "semantics" else "FAIL"
            if "flip" in row:
                flipped = not row["passed"] and not str(row["observed"]).startswith("error")
                mark = f"{'flipped' if flipped else 'NOT FLIPPED'} by {row['flip']}"
            tw.write_line(
                f"[{len(rows):4d}] {row['framework']}-{row['server']:<9} {row['tier']:<9} "
                f"{row['property']}: {render.short(row['observed'])} {mark}"
            )


_config: pytest.Config | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    global _config
    _config = session.config


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    path = config.getoption("--report")
    if not path or hasattr(config, "workerinput"):
        return
    recorded = config.stash[rows_key]
    rows = sorted(recorded, key=lambda r: (r["tier"], r["property"], r["framework"], r["server"]))
    rows += _declared_na(config, rows)
    report = {"versions": render.versions(), "results": rows}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tw = terminalreporter
    if config.getoption("--flips"):
        tw.write_line(f"{len(rows)} rows from wrong probes; report: {path}")
        return
    tw.write_line("")
    for line in render.matrix(rows):
        tw.write_line(line)
    failed = [r for r in rows if not r["passed"]]
    for r in failed:
        tw.write_line(
            f"MISMATCH {r['tier']} {r['property']} [{r['framework']}-{r['server']}]: "
            f"expected {r['expected']!r}, observed {r['observed']!r}"
            + (f" (clause {r['clause']})" if r.get("clause") else ""),
            red=True,
        )
    broken = sorted({r["clause"] for r in failed if r.get("clause")})
    if broken:
        tw.write_line(f"Clauses broken: {', '.join(broken)} (see shared/SPEC.md)", red=True, bold=True)
    tw.write_line(f"{len(rows)} cells, {len(failed)} mismatches; report: {path}")
    if exitstatus != 0 and not failed:
        tw.write_line(
            f"pytest failed (exit {int(exitstatus)}) outside any cell: see the failures above",
            red=True,
            bold=True,
        )
    docs = config.getoption("--write-docs")
    if docs and not failed and exitstatus == 0:
        from pages import write  # the checkout's page registry (not in the package)

        for written in write():
            tw.write_line(f"docs: {written}")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput") or not session.config.getoption("--report"):
        return
    if any(not r["passed"] for r in session.config.stash[rows_key]) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a mismatch fails the run


def _declared_na(config: pytest.Config, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cells declared not applicable or by construction are reported with their reason; on a full
    run, a declared cell that no test measured is a mismatch, so no cell is ever silently empty."""
    seen = {
        (r["framework"], r["server"])
        for r in rows
        if r["tier"] == "semantics" and r["framework"] in FRAMEWORKS
    }
    measured = {(r["framework"], r["server"], r["property"]) for r in rows}
    full = not config.getoption("keyword") and not config.getoption("markexpr")
    if full and any(Path(a).name == "test_semantics.py" for a in config.args):
        # A pair on which no cell applies (a release before the framework's background tasks) ran
        # no test: its cells are still reported, each with its reason.
        seen |= {
            (f, s)
            for f in config.getoption("--framework") or FRAMEWORKS
            for s in config.getoption("--server") or SERVERS
            if not any((c := cell(p, f, s)) is not None and c.measured for p in properties())
        }
    out = []
    for prop in properties().values():
        for framework, server in sorted(seen):
            declared = cell(prop.name, framework, server)
            pair = Pair(framework, server, "")
            if declared is not None and not declared.measured:
                reason = declared.unmeasured_reason
                out.append(_row(pair, "semantics", prop.name, reason, reason, True))
            elif full and (framework, server, prop.name) not in measured:
                out.append(
                    _row(
                        pair,
                        "semantics",
                        prop.name,
                        declared.value if declared else "declared",
                        "not measured",
                        False,
                    )
                )
    return out
