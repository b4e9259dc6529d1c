"""Bring your own app: a from-scratch implementation passes the contract tier, and each variant of it
that breaks one observable sentence of SPEC.md is caught, with that sentence's clause named."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.servers import REPO

APP = "tests.byo.notify_app:app"
WRONG_DIR = REPO / "tests" / "byo" / "wrong"

#: Wrong app (tests/byo/wrong/<name>.py) -> the clause the run must name: that of the sentence it
#: breaks, or, where its docstring says so, that of the test that checks the sentence (a default
#: of clause 9 checked with clause 10's retries, `on_loop` with clause 4's senders).
WRONG = {
    "answers_202": "1",
    "answer_body_wrong": "1",
    "answer_not_json": "1",
    "log_line_format": "2",
    "logs_empty_q": "2",
    "logs_twice": "2",
    "strips_q": "2",
    "blank_q_not_logged": "2",
    "log_after_email": "2",
    "emails_twice": "3",
    "keeps_sending_after_success": "3",
    "wrong_subject": "3",
    "wrong_body": "3",
    "bcc_archive": "3",
    "extra_envelope_recipient": "3",
    "no_to_header": "3",
    "from_header_differs": "3",
    "ignores_mail_from": "9",
    "ignores_smtp_host": "10",
    "default_sender_async": "4",
    "async_sender_on_smtplib": "6",
    "answers_after_task": "5",
    "sync_sender_on_loop": "6",
    "checks_deliverability": "8",
    "email_by_regex": "8",
    "allows_line_separators": "8",
    "allows_tab": "8",
    "q_length_in_bytes": "8",
    "refuses_longest_q": "8",
    "accepts_q_one_too_long": "8",
    "sender_case_insensitive": "8",
    "checks_sender_first": "8",
    "checks_q_before_email": "8",
    "error_body_detail_only": "8",
    "error_body_message_key": "8",
    "error_body_as_text": "8",
    "refuses_with_400": "8",
    "logs_refused_input": "8",
    "sends_refused_input": "8",
    "default_smtp_port_25": "9",
    "default_log_file_name": "9",
    "default_mail_from": "3",
    "default_attempts_3": "10",
    "ignores_attempts": "10",
    "ignores_backoff": "10",
    "backoff_not_capped": "10",
    "no_timeout": "10",
    "retries_5xx": "10",
    "no_retry_4xx": "10",
    "no_retry_connection_errors": "10",
    "refused_recipient_never_retried": "10",
    "one_attempt_too_many": "10",
    "no_backoff": "10",
    "no_mail_failed_event": "10",
    "mail_failed_only_final": "10",
    "temporary_means_not_final": "10",
    "final_only_when_exhausted": "10",
    "no_error_record": "10",
    "error_on_own_logger": "10",
    "error_every_attempt": "10",
    "attempt_from_zero": "10",
    "event_without_thread_name": "11",
    "thread_id_per_event": "11",
    "on_loop_inverted": "4",
    "seq_per_thread": "11",
    "log_written_id_is_q": "11",
    "t_wall_clock": "11",
    "mail_started_once": "10",
    "mail_sent_without_attempt": "10",
    "greeting_refusal_permanent": "10",
    "sender_refusal_retried": "10",
    "quit_failure_retried": "10",
    "error_on_child_logger": "10",
    "attempt_as_float": "10",
    "lowercases_address": "3",
    "sends_normalized_address": "3",
    "ascii_addresses_only": "8",
    "refuses_format_characters": "8",
    "body_from_template": "3",
    "default_time_out_10_s": "9",
    "json_with_charset": "1",
    "quit_time_out_retried": "10",
    "q_length_in_utf16_units": "8",
}

#: Wrong apps whose mistake also fails an earlier clause's test, by nature: they run the whole tier
#: rather than up to the first failure. Refusing every address (a deliverability check, and this
#: machine or CI may have no DNS) fails clause 1's test before any clause-8 test runs.
#: Answering only after the e-mail fails clause 2's test first: it holds the e-mail, then waits
#: for the answer.
WHOLE_TIER = {"checks_deliverability", "answers_after_task"}

#: Wrong apps only a run with `--long` catches: their mistake is a default that takes 30 s to see.
LONG = {"default_time_out_10_s"}

#: Wrong apps that never become ready: the run is one line on stderr and exit 2, no report.
NEVER_READY = {"health_elsewhere": ("7", "not ready within 5 s: GET /health answered 404")}

#: Wrong apps the contract tier does not catch yet -> the check that should. Each is a strict
#: xfail: once the check lands, its test passes and the entry must go.
AWAITING: dict[str, str] = {}


def run_contract(app: str, report: Path, *args: str, servers: tuple[str, ...] = ("uvicorn",),
                 timeout: float = 600) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    # Two workers per server, so that --long's waits run beside the rest.
    workers = str(2 * len(servers)) if len(servers) > 1 else "0"
    cmd = [sys.executable, "-m", "conformance", "--app", app, "--workers", workers, "--report", str(report)]
    for server in servers:
        cmd += ["--server", server]
    run = subprocess.run([*cmd, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    results = json.loads(report.read_text())["results"] if report.exists() else []
    return run, results


def wrong_app(name: str) -> Any:
    marks = [pytest.mark.xfail(reason=AWAITING[name], strict=True)] if name in AWAITING else []
    return pytest.param(name, marks=marks)


#: What the default run (CI) checks: one wrong app per clause; `nox -s wrong_apps` runs them all.
SAMPLE = ["answer_not_json", "log_after_email", "bcc_archive", "default_sender_async", "answers_after_task",
          "async_sender_on_smtplib", "checks_q_before_email", "default_log_file_name", "attempt_as_float",
          "seq_per_thread"]
ALL_ENV = "AFTERWARD_ALL_WRONG_APPS"


@pytest.mark.parametrize("name", [wrong_app(name) for name in (WRONG if os.environ.get(ALL_ENV) else SAMPLE)])
def test_wrong_app_is_caught_with_its_clause(name: str, tmp_path: Path) -> None:
    """Only the tests of the clause the wrong app must be caught by run, up to the first failure."""
    first_failure = ["--", "--clause", WRONG[name]] + ([] if name in WHOLE_TIER else ["-x"])
    long = ["--long"] if name in LONG else []
    run, results = run_contract(f"tests.byo.wrong.{name}:app", tmp_path / "r.json", *long, *first_failure)
    assert run.returncode != 0, f"{name} passed the contract tier\n{run.stdout[-2000:]}"
    failed = {r.get("clause") for r in results if not r["passed"]}
    assert WRONG[name] in failed, (f"{name}: failed clauses {failed}, not {WRONG[name]}\n{run.stdout[-2000:]}"
                                   f"\n{run.stderr[-2000:]}")
    assert "Clauses broken: " in run.stdout


@pytest.mark.parametrize("name", NEVER_READY)
def test_wrong_app_that_is_never_ready_is_one_line_and_exit_2(name: str, tmp_path: Path) -> None:
    run, results = run_contract(f"tests.byo.wrong.{name}:app", tmp_path / "r.json", "--wait", "5")
    assert run.returncode == 2, run.stdout[-2000:]
    assert run.stderr.strip().count("\n") == 0 and NEVER_READY[name][1] in run.stderr, run.stderr
    assert results == []


def test_from_scratch_app_passes_under_both_servers(tmp_path: Path) -> None:
    """The whole tier, `--long`'s 30-s default time-out too (one wait per server, beside the rest)."""
    run, results = run_contract(APP, tmp_path / "r.json", "--long", servers=("uvicorn", "hypercorn"))
    assert run.returncode == 0, run.stdout[-3000:]
    assert {r["server"] for r in results} == {"uvicorn", "hypercorn"}
    assert results and all(r["passed"] for r in results)
    assert {r["property"] for r in results} >= {"smtp_time_out_defaults_to_30_s"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def test_from_scratch_app_imports_nothing_from_the_project() -> None:
    ours = {"shared", "frameworks", "conformance", "reliability", "bench", "tests"}
    found = imported_modules(REPO / "tests" / "byo" / "notify_app.py")
    assert not {m for m in found if m.partition(".")[0] in ours}


def test_the_default_sample_names_every_clause() -> None:
    assert sorted({WRONG[name] for name in SAMPLE}, key=int) == sorted(set(WRONG.values()), key=int)


def test_every_wrong_app_is_tested_once() -> None:
    files = {p.stem for p in WRONG_DIR.glob("*.py") if p.stem != "__init__"}
    assert files == set(WRONG) | set(NEVER_READY)
    assert not set(WRONG) & set(NEVER_READY)
    assert set(WHOLE_TIER) | set(AWAITING) | LONG <= set(WRONG)


@pytest.mark.parametrize("name", sorted({**WRONG, **NEVER_READY}))
def test_wrong_app_says_which_clause_it_breaks(name: str) -> None:
    doc = ast.get_docstring(ast.parse((WRONG_DIR / f"{name}.py").read_text(encoding="utf-8"))) or ""
    doc = " ".join(doc.split())
    clause = WRONG[name] if name in WRONG else NEVER_READY[name][0]
    assert doc.startswith("Wrong: ") and re.search(r"\(breaks clauses? \d", doc), doc
    assert re.search(rf"\bclauses? (\d+ and )?{clause}\b", doc), f"no clause {clause}: {doc}"


def test_readme_counts_every_wrong_app() -> None:
    count = len([p for p in WRONG_DIR.glob("*.py") if p.stem != "__init__"])
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert f"all {count} variants of a from-scratch app" in readme
