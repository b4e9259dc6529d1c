"""`python -m reliability [--full] [pytest args]`: the reliability checks and their report.

`--full` runs the long variant and, when every check held and no pytest arguments narrowed
the run, writes docs/reliability/reliability.json and renders docs/reliability.md from it.
`--render` only renders the page again from the committed data. `--full --merge` with
pytest arguments (`-k durable`) replaces only the rows that run measured, when all held.
`--managers` runs the SIGTERM and SIGKILL checks under the process managers instead
(shared/axes.py's MANAGERS); with `--full`, when all held, their rows become the data's
`managers` and the page's section of that name.
"""

import importlib
import json
import os
import sys
import time

import pytest

import reliability
from shared.servers import MANAGERS, REPO

REPORT = REPO / "reports" / "reliability.json"
#: What runs under the process managers: the shutdown checks, what SIGTERM and SIGKILL deliver.
MANAGER_CHECKS = ("test_sigterm_delivers_what_the_grace_allows or test_sigkill_loses_what_is_in_flight or "
                  "test_rolling_restart or test_stop_window")


def main() -> int:
    args = sys.argv[1:]
    from reliability import report  # after the package, whichever way it was started

    if "--render" in args:
        report.PAGE.write_text(report.render(json.loads(report.DATA.read_text())), encoding="utf-8")
        print(f"rendered {report.PAGE} from {report.DATA}")
        return 0
    full, merge, managers = "--full" in args, "--merge" in args, "--managers" in args
    args = [a for a in args if a not in ("--full", "--merge", "--managers")]
    os.environ["AFTERWARD_RELIABILITY"] = "full" if full else "quick"
    importlib.reload(reliability)  # `python -m` imported it before the line above set its sizes
    os.chdir(REPO)
    cmd = ["reliability", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup",
           "--report", str(REPORT), "-o", "testpaths=reliability"]
    started = time.monotonic()
    if managers:
        cmd += ["-k", MANAGER_CHECKS]
    if "--server" not in args and not any(a.startswith("--server=") for a in args):
        servers = MANAGERS if managers else reliability.SERVERS
        cmd += [a for server in servers for a in ("--server", server)]
    code = int(pytest.main([*cmd, *args]))
    if managers:
        narrowed = [a for i, a in enumerate(args) if a != "-n" and (i == 0 or args[i - 1] != "-n")]
        if full and code == 0 and not narrowed:  # every manager, every check (`-n N` aside)
            data = json.loads(report.DATA.read_text())
            data["managers"] = report.extract(json.loads(REPORT.read_text()),
                                              {"seconds": round(time.monotonic() - started)})
            report.DATA.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            report.PAGE.write_text(report.render(data), encoding="utf-8")
            print(f"docs: {report.DATA.relative_to(REPO)} (managers), {report.PAGE.relative_to(REPO)}")
        return code
    if full and not args and code == 0:  # the default servers, every check
        from reliability.expectations import CONFIGURED_GRACE
        from reliability.oracle import LONGEST_Q

        run = {"seconds": round(time.monotonic() - started), "in_flight": reliability.IN_FLIGHT,
               "delivered_before_kill": reliability.DELIVERED_BEFORE_KILL,
               "hold_after_sigterm_s": reliability.HOLD_AFTER_SIGTERM, "configured_grace_s": CONFIGURED_GRACE,
               "longest_q": LONGEST_Q}
        report.write(json.loads(REPORT.read_text()), run)
        print(f"docs: {report.DATA.relative_to(REPO)}, {report.PAGE.relative_to(REPO)}")
    elif full and merge and code == 0:
        fresh = json.loads(REPORT.read_text())
        data = report.merge(fresh, json.loads(report.DATA.read_text()))
        rows = [r["property"] for r in fresh["results"] if r["tier"] == "reliability"]
        data["run"].setdefault("merges", []).append({
            "args": " ".join(args), "seconds": round(time.monotonic() - started),
            "durable": bool(rows) and all(name.startswith("durable_") for name in rows)})
        report.DATA.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        report.PAGE.write_text(report.render(data), encoding="utf-8")
        print(f"merged into {report.DATA.relative_to(REPO)}; rendered {report.PAGE.relative_to(REPO)}")
    return code


if __name__ == "__main__":
    sys.exit(main())
