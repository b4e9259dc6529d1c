"""`docs/reliability.md`, rendered from `docs/reliability/reliability.json`.

A full run (`python -m reliability --full`) that passed writes the data: every
reliability row with its expectation and the few details the page shows, the run's
sizes and the package versions. The page is rendered from that data alone, prose
included (reliability/notes.md is a template whose every number is filled from it), so
`python -m reliability --render` re-renders it without measuring, and
tests/test_reliability_page.py fails when the committed page is not what the committed
data renders to.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from string import Template
from typing import Any

from shared.servers import FRAMEWORKS, MANAGERS, REPO, SERVERS

__all__ = ["DATA", "PAGE", "extract", "merge", "render", "write"]

DATA = REPO / "docs" / "reliability" / "reliability.json"
PAGE = REPO / "docs" / "reliability.md"
NOTES = Path(__file__).with_name("notes.md")
#: Row details the page uses; the rest (per-chunk RSS, examples) stay in reports/reliability.json.
KEEP = ("requests_per_s", "concurrency", "chunks", "statuses", "rss", "second_half_growth_kib", "limit_kib",
        "unroutable", "unroutable_answers", "model", "grace_s", "pool", "held_after_sigterm_s", "at_smtp",
        "unrecorded", "bound", "copies_received", "copies_delivered", "settings", "accepted",
        "mid_send_at_kill", "visibility_timeout_s", "stack", "seconds", "bounds", "mid_send_at_stop",
        "no_answer", "restart_s", "requests", "how", "source", "after", "load_lost", "why", "unanswered_sent",
        "window_s", "held_s", "setting", "killed_at_window")
ROW = ("framework", "server", "property", "expected", "observed", "passed")

Rows = dict[tuple[str, str], dict[str, dict[str, Any]]]


def extract(report: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """The data the page needs, from a run's report (reports/reliability.json)."""
    order = {(f, s): n for n, (f, s) in enumerate((f, s) for f in FRAMEWORKS for s in SERVERS)}
    rows = [{**{k: r[k] for k in ROW}, **{k: r[k] for k in KEEP if k in r}}
            for r in report["results"] if r["tier"] == "reliability"]
    rows.sort(key=lambda r: (order.get((r["framework"], r["server"]), len(order)), r["property"]))
    return {"versions": report["versions"], "run": {"cpus": os.cpu_count(), **run}, "rows": rows}


def write(report: dict[str, Any], run: dict[str, Any]) -> None:
    data = extract(report, run)
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    PAGE.write_text(render(data), encoding="utf-8")


def merge(report: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The committed data with this run's rows in place of the same rows of an earlier run
    (a full run narrowed to some checks, e.g. `python -m reliability --full --merge -k durable`);
    its versions join the earlier ones, and its time is kept apart as `merged_seconds`."""
    fresh = extract(report, {})
    measured = {(r["framework"], r["server"], r["property"]) for r in fresh["rows"]}
    kept = [r for r in data["rows"] if (r["framework"], r["server"], r["property"]) not in measured]
    order = {(f, s): n for n, (f, s) in enumerate((f, s) for f in FRAMEWORKS for s in SERVERS)}
    rows = sorted(kept + fresh["rows"], key=lambda r: (order.get((r["framework"], r["server"]), len(order)),
                                                       r["property"]))
    return {"versions": {**data["versions"], **fresh["versions"]}, "run": data["run"], "rows": rows}


def _cells(data: dict[str, Any]) -> Rows:
    failed = [r for r in data["rows"] if not r["passed"] or r["expected"] in ("-", "measured")]
    if failed:  # the page states what held; a run where something did not is not one to publish
        raise ValueError(f"{len(failed)} row(s) failed or had no expectation, e.g. {failed[0]}")
    cells: Rows = defaultdict(dict)
    for r in data["rows"]:
        cells[r["framework"], r["server"]][r["property"]] = r
    return cells


def uniform(values: list[Any]) -> str:
    """One value if every pair agrees, else the range: prose never claims more than the data."""
    distinct = sorted(set(values), key=str)
    if len(distinct) == 1:
        return str(distinct[0])
    return f"{distinct[0]} to {distinct[-1]}" if all(isinstance(v, int) for v in distinct) else \
        " or ".join(map(str, distinct))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def render(data: dict[str, Any]) -> str:
    cells = _cells(data)
    pairs = [(f, s) for f in FRAMEWORKS for s in SERVERS if (f, s) in cells]
    run = data["run"]

    def get(pair: tuple[str, str], prop: str, key: str = "observed") -> Any:
        r = cells[pair].get(prop)
        return "-" if r is None else r.get(key, "-")

    def schema(pair: tuple[str, str]) -> str:
        if "openapi_cases" not in cells[pair]:
            return "no schema"
        return (f"{get(pair, 'openapi_cases')} ({get(pair, 'openapi_answers_unlike_the_oracle')}, "
                f"{get(pair, 'openapi_5xx')})")

    def faults(pair: tuple[str, str]) -> str:
        found = [r for name, r in cells[pair].items() if name.startswith("smtp_")]
        return f"{sum(r['passed'] for r in found)}/{len(found)}"

    def sigterm(pair: tuple[str, str], settings: str) -> str:
        return f"{get(pair, f'sigterm_confirmed_{settings}')}"

    def at_smtp(pair: tuple[str, str]) -> str:
        prop = "sigterm_at_smtp_within_model_defaults"
        return f"{get(pair, prop, 'at_smtp')} ({get(pair, prop, 'unrecorded')} unrecorded)"

    def grace(pair: tuple[str, str]) -> str:
        g = get(pair, "sigterm_confirmed_defaults", "grace_s")
        return f"{'no limit' if g is None else f'{g:g} s'}, {get(pair, 'sigterm_confirmed_defaults', 'pool')}"

    def rss(pair: tuple[str, str]) -> str:
        prop = "load_rss_second_half_kib"
        return f"{get(pair, prop, 'rss')} (second half {get(pair, prop, 'second_half_growth_kib'):+})"

    name = [f"{f}-{s}" for f, s in pairs]
    versions = ", ".join(f"{k} {v}" for k, v in data["versions"].items())
    out = [
        "# Reliability: nothing lost, nothing let in",
        "",
        "<!-- Generated by `nox -s reliability` from docs/reliability/reliability.json;",
        "     `python -m reliability --render` renders it again. Do not edit. -->",
        "",
        f"Measured on {run['cpus']} cores in {_duration(run['seconds'])}"
        + "".join(f", and `{args}` in a run of its own ({_duration(seconds)}) merged in"
                  for args, seconds in _merged(run, durable=False))
        + f", with {versions}.",
        "Every server ran as its own process on 127.0.0.1; every e-mail went over SMTP to the",
        "embedded sink. Every value below was compared with its expectation by the run that",
        "measured it, and this page is written only when all of them held; the data, with the",
        "expectations, is [reliability/reliability.json](reliability/reliability.json). The quick",
        "variant of the same checks runs in CI (`nox`).",
        "",
        "## Input",
        "",
        *_table(["pair", "fuzz inputs", "answers unlike the oracle", "5xx", "refused inputs that sent mail",
                 "accepted, not sent once", "CR/LF in SMTP headers",
                 "schemathesis cases (unlike the oracle, 5xx)"],
                [[n, str(get(p, "fuzz_inputs_tried")), str(get(p, "fuzz_answers_unlike_the_oracle")),
                  str(get(p, "fuzz_5xx_seen")), str(get(p, "fuzz_refused_inputs_that_sent_mail")),
                  str(get(p, "fuzz_accepted_not_sent_once")), str(get(p, "fuzz_crlf_in_smtp_headers")),
                  schema(p)] for n, p in zip(name, pairs, strict=True)]),
        "## Faults and shutdown",
        "",
        *_table(["pair", "SMTP faults as expected", "SIGTERM, configured: confirmed",
                 f"SIGTERM, defaults (held {run['hold_after_sigterm_s']:g} s): confirmed",
                 "defaults: grace, threads", "defaults: at the SMTP server", "SIGKILL: in flight, lost",
                 "SIGKILL: delivered before, delivered once"],
                [[n, faults(p), sigterm(p, "configured"), sigterm(p, "defaults"), grace(p), at_smtp(p),
                  str(get(p, "sigkill_in_flight_lost")),
                  str(get(p, "sigkill_delivered_before_delivered_once"))]
                 for n, p in zip(name, pairs, strict=True)]),
        *_windows(cells, pairs, "###"),
        *_managers(data.get("managers"), run),
        *_durable(cells, pairs, run),
        "## Load",
        "",
        *_table(["pair", "requests (per s)", "delivered / accepted", "duplicates", "5xx", "no answer",
                 "RSS KiB: before -> half -> end"],
                [[n, f"{get(p, 'load_requests')} ({get(p, 'load_requests', 'requests_per_s')})",
                  str(get(p, "load_delivered")), str(get(p, "load_duplicates")), str(get(p, "load_5xx")),
                  str(get(p, "load_transport_errors")), rss(p)]
                 for n, p in zip(name, pairs, strict=True)]),
        Template(NOTES.read_text(encoding="utf-8")).substitute(_prose(cells, pairs, run)).strip(),
        "",
    ]
    return "\n".join(out)


def _managers(data: dict[str, Any] | None, run: dict[str, Any]) -> list[str]:
    """The shutdown rows under the process managers (`python -m reliability --full --managers`)."""
    if not data:
        return []
    cells = _cells(data)
    pairs = [(f, m) for f in FRAMEWORKS for m in MANAGERS if (f, m) in cells]

    def get(pair: tuple[str, str], prop: str, key: str = "observed") -> Any:
        r = cells[pair].get(prop)
        return "-" if r is None else r.get(key, "-")

    def grace(pair: tuple[str, str]) -> str:
        g = get(pair, "sigterm_confirmed_defaults", "grace_s")
        return "no limit" if g is None else f"{g:g} s" if isinstance(g, float | int) else str(g)

    return [
        "### Under a process manager", "",
        f"The same SIGTERM and SIGKILL checks with the app under each process manager, two workers "
        f"({', '.join(MANAGERS)}; [between process managers](moves/managers.md)), the signal sent to the "
        "manager's process alone, as `docker stop` and Kubernetes send it; the expectations come from the "
        "declared cells of each manager. The notifications go over one connection, so to one worker. "
        f"{len(pairs)} pairs, {_duration(data['run']['seconds'])}.", "",
        *_table(["pair", "SIGTERM, configured: confirmed",
                 f"SIGTERM, defaults (held {run['hold_after_sigterm_s']:g} s): confirmed", "defaults: grace",
                 "defaults: model", "SIGKILL: in flight, lost", "SIGKILL: delivered before, delivered once"],
                [[f"{f}-{m}", str(get((f, m), "sigterm_confirmed_configured")),
                  str(get((f, m), "sigterm_confirmed_defaults")), grace((f, m)),
                  str(get((f, m), "sigterm_confirmed_defaults", "model")),
                  str(get((f, m), "sigkill_in_flight_lost")),
                  str(get((f, m), "sigkill_delivered_before_delivered_once"))] for f, m in pairs]),
        *_windows(cells, pairs, "####"),
        *_rolling(cells, pairs),
    ]


WINDOWS = {"docker": "`docker stop` (10 s)", "kubernetes": "Kubernetes (30 s)"}


def _windows(cells: Rows, pairs: list[tuple[str, str]], level: str) -> list[str]:
    """The stop windows' rows, when the data has them."""
    have = [p for p in pairs if any(name.startswith("window_") for name in cells[p])]
    if not have:
        return []

    def get(pair: tuple[str, str], prop: str, key: str = "observed") -> Any:
        r = cells[pair].get(prop)
        return "-" if r is None else r.get(key, "-")

    first = have[0]
    head = [f"{level} Stop windows", "",
            "SIGTERM with the notifications held until "
            f"{get(first, 'window_docker_defaults_confirmed', 'held_s'):g} s (docker) or "
            f"{get(first, 'window_kubernetes_defaults_confirmed', 'held_s'):g} s (Kubernetes) after it, work "
            "that fits in the window, then SIGKILL to every process of the group when the window ends, if "
            "anything is still up. Confirmed per sender with the defaults, and with the setting that loses "
            "nothing that fits: every grace set to the window less a second (none where the server has no "
            "grace to set). `killed` marks a run that was still up when the window ended.", ""]
    rows = []
    for f, s in have:
        row = [f"{f}-{s}"]
        for window in WINDOWS:
            for settings in ("defaults", "setting"):
                prop = f"window_{window}_{settings}_confirmed"
                killed = " (killed)" if get((f, s), prop, "killed_at_window") is True else ""
                row.append(f"{get((f, s), prop)}{killed}")
            row.append(f"`{get((f, s), f'window_{window}_setting_confirmed', 'setting')}`")
        rows.append(row)
    header = ["pair", *(f"{WINDOWS[w]}: {what}" for w in WINDOWS for what in ("defaults", "with the setting",
                                                                                "the setting"))]
    return [*head, *_table(header, rows)]


def _rolling(cells: Rows, pairs: list[tuple[str, str]]) -> list[str]:
    have = [p for p in pairs if "rolling_restart_workers_replaced" in cells[p]]
    if not have:
        return []

    def get(pair: tuple[str, str], prop: str, key: str = "observed") -> Any:
        r = cells[pair].get(prop)
        return "-" if r is None else r.get(key, "-")

    replaced = "rolling_restart_workers_replaced"
    hows = {p[1]: (get(p, replaced, "how"), get(p, replaced, "source"),
                   get(p, "rolling_restart_held_delivered", "why")) for p in have}
    first = have[0]
    return [
        "#### A rolling restart under load", "",
        f"SIGHUP to the manager while {get(first, replaced, 'concurrency')} clients keep sending "
        "notifications, each to an address of its own; the load goes on until every old worker has gone and "
        f"{get(first, replaced, 'after')} more requests were answered. Every "
        "accepted notification is counted at the SMTP sink by address. A request with no answer is one "
        "sent on a keep-alive connection the old worker closed at that moment (the client library does "
        "not send a POST again); some of those were sent anyway, where the worker had the request but "
        "the client lost the answer: a client that sends them again sends them twice. Besides the load, "
        "four notifications (two `async def` and two `def` senders) are "
        "held at the SMTP server in an old worker and let go once that worker has stopped taking "
        "connections: they are running when it stops, whatever the race. What SIGHUP does:", "",
        *(f"- {m}: {how} ([source]({source})); {why}." for m, (how, source, why) in hows.items()), "",
        *_table(["pair", "requests", "restart (s)", "held in an old worker: delivered", "accepted, lost",
                 "duplicated", "5xx", "no answer", "no answer, sent anyway"],
                [[f"{f}-{m}", str(get((f, m), "rolling_restart_workers_replaced", "requests")),
                  str(get((f, m), "rolling_restart_workers_replaced", "restart_s")),
                  str(get((f, m), "rolling_restart_held_delivered")),
                  f"{get((f, m), 'rolling_restart_held_delivered', 'load_lost')} of "
                  f"{get((f, m), 'rolling_restart_held_delivered', 'accepted')}",
                  str(get((f, m), "rolling_restart_duplicates")), str(get((f, m), "rolling_restart_5xx")),
                  str(get((f, m), "rolling_restart_workers_replaced", "no_answer")),
                  str(get((f, m), "rolling_restart_workers_replaced", "unanswered_sent"))] for f, m in have]),
    ]


def _duration(seconds: int) -> str:
    return f"{seconds // 60} min {seconds % 60} s"


def _merged(run: dict[str, Any], durable: bool) -> list[Any]:
    """The runs merged into the data (`--full --merge`): the durable rows' seconds, or the
    others' (arguments, seconds). `merged_seconds` is the older record of the durable run;
    a merge's `durable` says whether all its rows were the durable apps'."""
    merges = run.get("merges", [])
    if durable:
        return [m["seconds"] for m in merges if m["durable"]] or (
            [run["merged_seconds"]] if "merged_seconds" in run else [])
    return [(m["args"], m["seconds"]) for m in merges if not m["durable"]]


DURABLE_TARGETS = {"web": "the web server", "worker": "the worker, mid-delivery", "redis": "Redis"}
#: SIGTERM's targets: who a way of running the worker signals (docs/durable.md says which is which).
SIGTERM_TARGETS = {"web": "the web server", "worker": "the worker's main process",
                   "worker_group": "every worker process",
                   "worker_group_celery_defaults": "every worker process, Celery's own pool handling"}


def _durable(cells: Rows, pairs: list[tuple[str, str]], run: dict[str, Any]) -> list[str]:
    """The durable apps' SIGKILL rows, when the data has them."""
    have = [p for p in pairs if any(name.startswith("durable_sigkill_") for name in cells[p])]
    if not have:
        return []

    def cell(p: tuple[str, str], target: str) -> str:
        lost = cells[p].get(f"durable_sigkill_{target}_in_flight_lost")
        dup = cells[p].get(f"durable_sigkill_{target}_duplicates")
        if lost is None or dup is None:
            return "-"
        return f"{lost['observed']} lost, {dup['observed']} duplicated"

    first = next(r for p in have for name, r in cells[p].items() if name.startswith("durable_sigkill_")
                 and "stack" in r)
    return [
        "## Durable: the same apps on Celery and Redis",
        "",
        f"The durable twins (`frameworks/*_durable_app.py`) with {first['stack']}: Redis append-only with "
        "`appendfsync always`, one worker whose pool has "
        f"{first['mid_send_at_kill']} processes, `task_acks_late`, `task_reject_on_worker_lost`, and a "
        f"visibility time-out of {first['visibility_timeout_s']:g} s. Each case accepts the notifications "
        "while the SMTP server holds every e-mail (so the worker's whole pool is mid-send and the rest are "
        "queued), kills one process with SIGKILL, starts it again (the worker: a new one), lets the e-mails "
        "through, waits until the broker holds no message, sends a barrier, then counts each address. "
        "Duplicates are counted rather than assumed away: the task checks a done-mark in Redis, keyed by "
        "its task id, before it sends."
        + _durable_runs(_merged(run, durable=True)),
        "",
        *_table(["pair", *(f"SIGKILL of {what}" for what in DURABLE_TARGETS.values())],
                [[f"{f}-{s}", *(cell((f, s), t) for t in DURABLE_TARGETS)] for f, s in have]),
        *_durable_sigterm(cells, pairs),
        *_hung_broker(cells, pairs),
    ]


def _durable_runs(seconds: list[int]) -> str:
    """Where the durable rows come from, when runs of their own were merged into the data."""
    if not seconds:
        return ""
    if len(seconds) == 1:
        return f" These rows come from a run of their own ({_duration(seconds[0])}), merged into the data."
    times = ", ".join(_duration(s) for s in seconds[:-1]) + f" and {_duration(seconds[-1])}"
    return f" These rows come from {len(seconds)} runs of their own ({times}), merged into the data."


def _durable_sigterm(cells: Rows, pairs: list[tuple[str, str]]) -> list[str]:
    """The durable apps' SIGTERM rows, when the data has them."""
    have = [p for p in pairs if any(name.startswith("durable_sigterm_") for name in cells[p])]
    if not have:
        return []

    def cell(p: tuple[str, str], target: str) -> str:
        lost = cells[p].get(f"durable_sigterm_{target}_in_flight_lost")
        dup = cells[p].get(f"durable_sigterm_{target}_duplicates")
        if lost is None or dup is None:
            return "-"
        return f"{lost['observed']} lost, {dup['observed']} duplicated"

    rows = [r for p in have for name, r in cells[p].items() if name.startswith("durable_sigterm_")]
    held = uniform([r["mid_send_at_stop"] for r in rows if "mid_send_at_stop" in r])
    defaults = [r["observed"] for p in have
                if (r := cells[p].get("durable_sigterm_worker_group_celery_defaults_duplicates"))]
    return [
        "### SIGTERM: a deploy's stop",
        "",
        f"The same cases with SIGTERM in place of SIGKILL, sent while the worker's {held} pool processes are "
        "mid-send and the rest wait in Redis, and taken (the worker's main process has begun its warm "
        "shutdown, no pool process still has the signal pending) before the e-mails are let through; the "
        "process is started again once it has exited, and the visibility time-out is left at its default. "
        "The worker's main process is what a container runtime and Kubernetes signal (PID 1); every worker "
        "process at once is what systemd signals by default (`KillMode=control-group`). The shipped task "
        "ignores SIGTERM in a pool process while it delivers (`finish_before_sigterm`, durable/tasks.py), "
        "so its deliveries finish, done-mark included, and the warm shutdown waits for them. The last "
        "column is the task as Celery runs it by default (durable/wrong_apps/interruptible_tasks.py): a "
        "pool process that gets SIGTERM raises `SystemExit` where it is, the SMTP server's `250` then "
        "comes with no done-mark written after it, and the message, requeued as a lost job, is sent "
        f"again: {uniform(defaults) if defaults else '-'} duplicated per pair, one for each delivery "
        "under way, and nothing lost."
        " [docs/durable.md](durable.md#stopping-a-worker) says what each way of running a worker needs.",
        "",
        *_table(["pair", *(f"SIGTERM to {what}" for what in SIGTERM_TARGETS.values())],
                [[f"{f}-{s}", *(cell((f, s), t) for t in SIGTERM_TARGETS)] for f, s in have]),
    ]


def _hung_broker(cells: Rows, pairs: list[tuple[str, str]]) -> list[str]:
    """The hung broker's rows (a broker that accepts and never answers), when the data has them."""
    cases = {"new": "a new connection", "open": "the connection the app holds"}
    have = [p for p in pairs if any(f"durable_hung_broker_{c}" in cells[p] for c in cases)]
    if not have:
        return []
    rows = [r for p in have for c in cases if (r := cells[p].get(f"durable_hung_broker_{c}"))]
    seconds = [r["seconds"] for r in rows]
    bound = uniform([f"{r['bound']:g}" for r in rows])

    def cell(p: tuple[str, str], case: str) -> str:
        r = cells[p].get(f"durable_hung_broker_{case}")
        return "-" if r is None else f"{r['observed']} ({r['seconds']:.2f} s)"

    return [
        "### A broker that hangs",
        "",
        "A proxy in front of Redis accepts connections and reads every byte the web app sends, and "
        "answers nothing (a hung Redis, a network partition), on a new connection or on the one a first "
        "notification left the app holding. Each answer is timed against the bound clause 14 states "
        f"({bound} s: four times `AFTERWARD_BROKER_TIMEOUT`, for the replies "
        "the publish waits for, its command's and one for each of kombu's two attempts at a new "
        "connection, and one more for all else); `GET /health` is asked while the enqueue waits; then the "
        "broker comes back and a later notification goes through. Over all pairs the `503` came after "
        f"{min(seconds):.2f} to {max(seconds):.2f} s.",
        "",
        *_table(["pair", *(f"hung broker, {what}" for what in cases.values())],
                [[f"{f}-{s}", *(cell((f, s), c) for c in cases)] for f, s in have]),
    ]


def _prose(cells: Rows, pairs: list[tuple[str, str]], run: dict[str, Any]) -> dict[str, str]:
    """Every value the notes cite, from the data."""

    def column(prop: str, key: str = "observed", among: list[tuple[str, str]] | None = None) -> list[Any]:
        return [cells[p][prop][key] for p in (among or pairs) if prop in cells[p] and key in cells[p][prop]]

    answers: dict[str, set[int]] = defaultdict(set)
    for p in pairs:
        answers[p[0]].update(cells[p].get("fuzz_inputs_tried", {}).get("unroutable_answers", []))
    statuses: dict[str, int] = defaultdict(int)
    for p in pairs:
        for code, n in cells[p].get("openapi_cases", {}).get("statuses", {}).items():
            statuses[code] += n
    settings = column("smtp_down_retried_and_recorded", "settings")[0]
    slow = "smtp_slow_retried_and_delivered"
    return {
        "fuzz_inputs": uniform(column("fuzz_inputs_tried")),
        "longest_q": str(run["longest_q"]),
        "unroutable": _unroutable(column("fuzz_inputs_tried", "unroutable"), answers),
        "openapi_cases": uniform(column("openapi_cases")),
        "openapi_statuses": ", ".join(f"{n} answered {code}" for code, n in sorted(statuses.items()))
                            + " over all pairs, each as the oracle says",
        "smtp_timeout": settings["AFTERWARD_SMTP_TIMEOUT"],
        "smtp_attempts": settings["AFTERWARD_SMTP_ATTEMPTS"],
        "smtp_backoff": settings["AFTERWARD_SMTP_BACKOFF"],
        "slow_copies": uniform(column(slow, "copies_received")),
        "slow_delivered": uniform(column(slow, "copies_delivered")),
        "default_time_out": _default_time_out(cells, pairs),
        "in_flight": str(run["in_flight"]),
        "hold": f"{run['hold_after_sigterm_s']:g}",
        "configured_grace": f"{run['configured_grace_s']:g}",
        "configured_summary": _sigterm_groups(cells, pairs, "configured"),
        "sigterm_defaults": _sigterm_groups(cells, pairs, "defaults"),
        "unrecorded": _unrecorded(cells, pairs),
        "load_requests": uniform(column("load_requests")),
        "load_concurrency": uniform(column("load_requests", "concurrency")),
        "load_chunks": uniform(column("load_requests", "chunks")),
        "load_half": str(int(uniform(column("load_requests", "chunks"))) // 2),
        "default_pool": uniform(column("sigterm_confirmed_defaults", "pool",
                                       [p for p in pairs if p[0] in ("litestar", "quart")])),
        "anyio_pool": uniform(column("sigterm_confirmed_defaults", "pool",
                                     [p for p in pairs if p[0] in ("fastapi", "starlette")])),
        "rss_limit_mib": uniform([v // 1024 for v in column("load_rss_second_half_kib", "limit_kib")]),
        "before": str(run["delivered_before_kill"]),
        "sigkill_summary": _sigkill_summary(cells, pairs),
    }


def _default_time_out(cells: Rows, pairs: list[tuple[str, str]]) -> str:
    """How long each sender waited on a silent SMTP server with the default time-out, over the pairs."""
    rows = [r for p in pairs for name, r in cells[p].items() if name.startswith("smtp_default_time_out[")]
    if not rows:
        return "not measured in this run"
    low, high = rows[0]["bounds"]
    seconds = [r["seconds"] for r in rows]
    return (f"from {min(seconds):.2f} to {max(seconds):.2f} s over {len(rows)} senders (both senders of "
            f"{len(rows) // 2} pairs; the check allows {low:g} to {high:g} s)")


def _unroutable(counts: list[int], answers: dict[str, set[int]]) -> str:
    if not any(counts):
        return "none came up in this run"
    by = "; ".join(f"{fw} {', '.join(map(str, sorted(a))) or 'only the spec answers'}"
                   for fw, a in answers.items())
    return f"{uniform(counts)} per server in this run, answered with {by}"


def _sigterm_groups(cells: Rows, pairs: list[tuple[str, str]], settings: str) -> str:
    """One bullet per outcome: the pairs, the model's reason, what was confirmed."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p in pairs:
        r = cells[p][f"sigterm_confirmed_{settings}"]
        groups[r["model"], r["observed"]].append(f"{p[0]}-{p[1]}")
    return "\n".join(f"  - {', '.join(names)}: {model}. Observed: {observed}."
                     for (model, observed), names in groups.items())


def _unrecorded(cells: Rows, pairs: list[tuple[str, str]]) -> str:
    found = [(f"{p[0]}-{p[1]}", r["unrecorded"], r["bound"]) for p in pairs
             if (r := cells[p].get("sigterm_at_smtp_within_model_defaults")) and r["bound"]]
    if not found:
        return "no defaults run here cancelled a send"
    return "in this run, " + ", ".join(f"{n} of the {b} cancelled sends in {name}" for name, n, b in found)


def _sigkill_summary(cells: Rows, pairs: list[tuple[str, str]]) -> str:
    lost = uniform([cells[p]["sigkill_in_flight_lost"]["observed"] for p in pairs])
    once = uniform([cells[p]["sigkill_delivered_before_delivered_once"]["observed"] for p in pairs])
    return (f"In flight at the kill, lost: {lost} in every pair; delivered before it, delivered exactly "
            f"once: {once}.")
