"""The package's extras and the command's own configuration: every server has an extra of
its name, a server counts as installed only when all of its extra is, and the installed
suite runs with the checkout's pytest options."""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conformance.command import SUITE_INI, main
from conformance.extras import extra_requirements, missing, unmet
from shared.servers import APP_DIR_ENV, REPO, SERVERS

#: A distribution that `importlib.metadata` finds on `sys.path`, with one extra that is
#: installed and one that is not.
FAKE_METADATA = """\
Metadata-Version: 2.1
Name: fakeserver
Version: 1.0
Provides-Extra: fast
Requires-Dist: pytest; extra == "fast"
Provides-Extra: turbo
Requires-Dist: surely-not-installed-here>=1; extra == "turbo"
"""


@pytest.mark.parametrize("server", SERVERS)
def test_every_server_has_an_extra_of_its_name(server: str) -> None:
    assert extra_requirements(server), f"pyproject.toml has no optional dependency named {server!r}"


def test_every_server_of_the_checkout_is_installed_in_its_sessions() -> None:
    assert [name for name in SERVERS if missing(name)] == []


def test_a_server_without_an_extra_is_named_as_such() -> None:
    assert missing("carrier-pigeon") == ("--server carrier-pigeon: the package declares no extra named "
                                        "'carrier-pigeon' to install it with")


def test_an_extra_counts_only_when_all_of_it_is_installed(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fakeserver-1.0.dist-info").mkdir()
    (tmp_path / "fakeserver-1.0.dist-info" / "METADATA").write_text(FAKE_METADATA)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert unmet(Requirement("fakeserver>=1,<2")) is None
    assert unmet(Requirement("fakeserver[fast]")) is None
    assert unmet(Requirement("fakeserver>=2")) == "fakeserver 1.0 is installed, the extra needs >=2"
    assert unmet(Requirement("fakeserver[turbo]")) == ("surely-not-installed-here is not installed "
                                                       "(for fakeserver[turbo])")
    assert unmet(Requirement("surely-not-installed-here")) == "surely-not-installed-here is not installed"


def test_an_app_dir_that_does_not_exist_is_one_line_and_exit_2(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--app", "notifier:app", "--app-dir", str(tmp_path / "nowhere")]) == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and "--app-dir" in said and "no such directory" in said, said


def test_the_installed_suite_runs_with_the_checkouts_pytest_options() -> None:
    ini = configparser.ConfigParser()
    ini.read(SUITE_INI, encoding="utf-8")
    installed = ini["pytest"]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    checkout = pyproject["tool"]["pytest"]["ini_options"]
    assert installed["minversion"] == checkout["minversion"]
    assert installed["addopts"].split() == checkout["addopts"]
    assert installed.getboolean("xfail_strict") == checkout["xfail_strict"]
    for key in ("filterwarnings", "markers"):
        assert installed[key].strip().splitlines() == checkout[key], key


@pytest.mark.parametrize("target", [["--app", "notifier:app", "--server", "uvicorn"], ["--url", "http://127.0.0.1:1"]])
def test_the_command_hands_its_wait_and_smtp_port_on_to_the_suite(target: list[str], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import conformance.__main__

    seen: list[list[str]] = []
    monkeypatch.setattr(conformance.__main__, "main", lambda argv: seen.append(argv) or 0)
    monkeypatch.setenv(APP_DIR_ENV, str(tmp_path))  # the command sets it: taken back after the test
    assert main([*target, "--app-dir", str(tmp_path), "--wait", "5", "--smtp-port", "2525"]) == 0
    forwarded = seen[0][: seen[0].index("--")]
    assert forwarded[forwarded.index("--wait") + 1] == "5.0"
    assert forwarded[forwarded.index("--smtp-port") + 1] == "2525"
