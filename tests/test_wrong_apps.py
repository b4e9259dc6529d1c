"""The suite can fail: run against deliberately wrong apps, it names the clause each breaks."""

import json
import socket
import subprocess
import sys

import pytest

from shared.servers import REPO, LiveServer

WRONG = {
    "answers_after_tasks": "5",
    "sync_sender_on_loop": "6",
    "email_before_log": "2",
    "two_emails": "3",
}


@pytest.mark.parametrize("name", WRONG)
def test_contract_tier_catches_wrong_app(name: str, tmp_path) -> None:
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "conformance", "--app", f"conformance.wrong_apps.{name}:app",
         "--server", "uvicorn", "--workers", "0", "--report", str(report),
         "--", "--clause", WRONG[name], "-x"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode != 0, run.stdout[-2000:]
    failed = [r for r in json.loads(report.read_text())["results"] if not r["passed"]]
    assert WRONG[name] in {r["clause"] for r in failed}, run.stdout[-2000:]
    assert "Clauses broken:" in run.stdout


BAD_USE = {
    "nosuch.module:app": "cannot import it (ModuleNotFoundError",
    "frameworks.fastapi_app:nope": "has no attribute 'nope'",
    "shared.spec:SENT_MESSAGE": "dict object is not an ASGI app",
    "conformance.wrong_apps.never_ready:app": "not ready within 5 s: GET /health answered 503",
}


@pytest.mark.parametrize("app", BAD_USE)
def test_an_app_that_cannot_be_tested_is_one_line_and_exit_2(app: str, tmp_path) -> None:
    run = subprocess.run([sys.executable, "-m", "conformance", "--app", app, "--server", "uvicorn",
                          "--wait", "5", "--report", str(tmp_path / "report.json")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout[-2000:]
    assert run.stderr.strip().count("\n") == 0 and BAD_USE[app] in run.stderr, run.stderr
    assert not (tmp_path / "report.json").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_app_already_running_is_checked_by_url(tmp_path) -> None:
    """`--url`: the from-scratch app, started by hand, passes; what the suite cannot do to it is n/a."""
    smtp_port = _free_port()
    log, events = tmp_path / "app.log", tmp_path / "events.jsonl"
    env = {"AFTERWARD_SMTP_HOST": "127.0.0.1", "AFTERWARD_SMTP_PORT": str(smtp_port),
           "AFTERWARD_LOG_PATH": str(log), "AFTERWARD_EVENTS": str(events)}
    report = tmp_path / "report.json"
    server = LiveServer("tests.byo.notify_app:app", "hypercorn", env=env, log_path=tmp_path / "server.log")
    with server as app:
        run = subprocess.run(
            [sys.executable, "-m", "conformance", "--url", app.url, "--smtp-port", str(smtp_port),
             "--log", str(log), "--events", str(events), "--report", str(report)],
            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
    assert f"AFTERWARD_SMTP_PORT={smtp_port}" in run.stdout and f"AFTERWARD_LOG_PATH={log}" in run.stdout
    rows = json.loads(report.read_text())["results"]
    na = [r for r in rows if r["observed"] == "n/a"]
    assert na and all(r["reason"] for r in na), rows
    assert {"mail_from_comes_from_the_configuration", "exactly_one_email_reaches_the_recipient"} <= {
        r["property"] for r in na}
    assert len(rows) - len(na) >= 40 and all(r["passed"] for r in rows)


def test_a_url_that_does_not_answer_is_one_line_and_exit_2(tmp_path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    run = subprocess.run([sys.executable, "-m", "conformance", "--url", url, "--wait", "1",
                          "--smtp-port", str(_free_port()), "--report", str(tmp_path / "r.json")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout[-2000:]
    assert run.stderr.strip().count("\n") == 0, run.stderr
    assert f"--url {url}: GET /health did not answer 200 within 1 s" in run.stderr


def test_a_sink_port_in_use_is_one_line_and_exit_2(tmp_path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "conformance", "--url", "http://127.0.0.1:9",
                              "--smtp-port", str(port), "--report", str(tmp_path / "r.json")],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout[-2000:]
    assert run.stderr.strip().count("\n") == 0, run.stderr
    assert f"cannot listen on 127.0.0.1:{port} for the SMTP sink" in run.stderr


#: Options that cannot work -> what the one line on stderr says.
BAD_OPTIONS = {
    ("--app", "myapp"): "--app: 'myapp': expected MODULE:ATTR",
    ("--app", "myapp:"): "--app: 'myapp:': expected MODULE:ATTR",
    ("--url", "127.0.0.1:8000"): "--url: '127.0.0.1:8000': expected an http:// or https:// URL",
    ("--url", "http://127.0.0.1:8000", "--smtp-port", "70000"): "--smtp-port: '70000': expected a TCP port",
    ("--app", "a:app", "--wait", "0"): "--wait: '0': expected a number of seconds above 0",
    ("--app", "a:app", "--workers", "-1"): "--workers: '-1': expected a number of workers",
}


@pytest.mark.parametrize("args", BAD_OPTIONS, ids=" ".join)
def test_an_option_that_cannot_work_is_one_line_and_exit_2(args: tuple[str, ...], capsys) -> None:
    from conformance.__main__ import main as suite
    from conformance.command import main as command

    for main in (suite, command):
        with pytest.raises(SystemExit) as exit:
            main(list(args))
        err = capsys.readouterr().err
        assert exit.value.code == 2 and err.strip().count("\n") == 0, err
        assert BAD_OPTIONS[args] in err, err
