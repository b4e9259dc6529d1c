"""docs/queues.md, "which queue": the engines (shared/axes.py's ENGINES) side by side, from
durable/engines.toml (declared, with the reasons and sources), durable/expected.toml (what they
share) and docs/queues/observed/<engine>/<property>.json (what `nox -s durable` last saw). The
enqueue idiom and the worker command are read from each engine's module and record, so the page
cannot drift from the code. Nothing here imports an engine.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from durable.declared import declared, engine_properties
from shared.axes import ENGINES, Engine
from shared.servers import REPO

__all__ = ["OBSERVED", "enqueue_source", "observed", "off_the_loop", "page", "reliability_section", "titles"]

OBSERVED = REPO / "docs" / "queues" / "observed"


def _module_path(engine: Engine) -> Path:
    return REPO / (engine.module.replace(".", "/") + ".py")


def enqueue_source(engine: Engine) -> str:
    """The engine module's `enqueue`, as written."""
    text = _module_path(engine).read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        if isinstance(node, ast.AsyncFunctionDef) and node.name == "enqueue":
            return ast.get_source_segment(text, node) or ""
    raise LookupError(f"{engine.module}: no `async def enqueue`")


def off_the_loop(engine: Engine) -> bool:
    """Whether the enqueue runs in a thread (a blocking client) rather than on the event loop."""
    return "asyncio.to_thread(" in enqueue_source(engine)


def observed(engine: str, prop: str, root: Path = OBSERVED) -> dict[str, Any] | None:
    path = root / engine / f"{prop}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return {True: "yes", False: "no"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def _declared_text(prop: str, entry: dict[str, Any]) -> str:
    text = _plain(entry["value"])
    if "lost" in entry:
        text += f", {entry['lost']} lost, {entry['twice']} sent twice"
    if prop == "redelivery_after_worker_sigkill":
        text += f", after {entry['after_s']:g} s with {_settings(entry)}"
    return text


def _settings(entry: dict[str, Any]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in entry.get("measured_with", {}).items()) or "the defaults"


def _seen_text(seen: dict[str, Any] | None) -> str:
    if seen is None:
        return "not measured yet"
    if set(seen) <= {"sync", "async"}:
        return _plain(seen)
    text = seen.get("held_sent_by") or seen.get("how", "")
    text += f", {seen['lost']} lost, {seen['twice']} sent twice"
    if "after_s" in seen and "held_sent_by" not in seen:
        text += f", first after {seen['after_s']:g} s"
    return text


def _anchor(prop: str, engine: Engine) -> str:
    return f"{prop}-{engine.name}".replace("_", "-")


def _agrees(prop: str, entry: dict[str, Any], seen: dict[str, Any] | None) -> bool:
    if seen is None:
        return False
    if set(seen) <= {"sync", "async"}:
        return seen == entry["value"]
    by = seen.get("held_sent_by", seen.get("how"))
    return (by, seen["lost"], seen["twice"]) == (entry["value"], entry.get("lost", 0), entry.get("twice", 0))


def _cell(prop: str, body: dict[str, Any], engine: Engine, root: Path) -> str:
    """The declared value, linked to its reason below; a tick when the last run saw the same."""
    entry = body[engine.name]
    text = f"[{_short(prop, entry)}](#{_anchor(prop, engine)})"
    if prop == "stalled_broker_503_can_still_be_sent":
        return text  # checked by the broker tier, which keeps no observation
    seen = observed(engine.name, prop, root)
    return f"{text} ✓" if _agrees(prop, entry, seen) else f"{text} (measured: {_seen_text(seen)})"


def _short(prop: str, entry: dict[str, Any]) -> str:
    text = _plain(entry["value"])
    if entry.get("twice"):
        text += f", {entry['twice']} sent twice"
    if entry.get("lost"):
        text += f", {entry['lost']} lost"
    if prop == "redelivery_after_worker_sigkill" and entry["value"] == "alone":
        text += f", after {entry['after_s']:g} s"
    return text


def _table(root: Path) -> list[str]:
    engines = list(ENGINES.values())
    rows = ["| | " + " | ".join(e.title for e in engines) + " |", "|---" * (len(engines) + 1) + "|"]
    how = {True: "in a thread (a blocking client)", False: "awaited on the loop"}
    rows.append("| enqueue | " + " | ".join(how[off_the_loop(e)] for e in engines) + " |")
    shared = declared("notifications_in_flight_per_worker")
    rows.append(f"| notifications in flight per worker | {' | '.join(f'{shared}' for _ in engines)} |")
    for prop, body in engine_properties().items():
        rows.append(f"| [{body['title']}](#{prop.replace('_', '-')}) | "
                    + " | ".join(_cell(prop, body, e, root) for e in engines) + " |")
    return rows


def _reasons(root: Path) -> list[str]:
    """Per property, each engine's value in full, why, its source and what the last run saw."""
    out: list[str] = []
    for prop, body in engine_properties().items():
        out += [f'<a id="{prop.replace("_", "-")}"></a>', "", f"### {body['title']}", "",
                f"Checked by [`{body['measured_by']}`]({_test_link(body['measured_by'])}).", ""]
        for engine in ENGINES.values():
            entry = body[engine.name]
            why = " ".join(str(entry.get("why") or body.get("why", "")).split())
            source = entry.get("source") or body.get("source", "")
            shown = entry.get("measured_with") and "after_s" not in entry
            with_ = f" With {_settings(entry)}." if shown else ""
            default = f" By default: {entry['default']}." if entry.get("default") else ""
            seen = "" if prop == "stalled_broker_503_can_still_be_sent" else \
                f" Last measured: {_seen_text(observed(engine.name, prop, root))}."
            head = f'<a id="{_anchor(prop, engine)}"></a>**{engine.title}: {_declared_text(prop, entry)}.**'
            out += [f"- {head}"
                    f"{with_}{default} {why} ([source]({source})){seen}", ""]
    return out


def _test_link(measured_by: str) -> str:
    return "../" + measured_by.split("::", 1)[0]


def _versions(engine: Engine, root: Path) -> str:
    path = root / engine.name / "versions.json"
    if not path.exists():
        return "Not measured yet."
    v = json.loads(path.read_text(encoding="utf-8"))
    return (f"Last measured with {engine.package} {v[engine.package]}, redis-py {v['redis']} and Redis "
            f"{v['redis_server']}, on Python {v['python']}.")


def titles() -> str:
    """"Celery, arq, Dramatiq and taskiq", from the records."""
    names = [e.title for e in ENGINES.values()]
    return f"{', '.join(names[:-1])} and {names[-1]}"


def page(root: Path = OBSERVED) -> str:
    parts = [
        f"# Which queue: {titles()} on one spec",
        "",
        "<!-- Generated by `python -m pages` from durable/engines.toml, durable/expected.toml, the",
        "     engines' modules and docs/queues/observed/. Do not edit. -->",
        "",
        "The four durable apps (`frameworks/*_durable_app.py`) enqueue through one seam,",
        "[durable/queue.py](../durable/queue.py), on the engine `AFTERWARD_ENGINE` names; the same",
        "Redis, the same task (the log line, then the e-mail, each step marked done under the",
        "message's id) and the same contract tier (clauses 12-17 of [SPEC.md](../shared/SPEC.md))",
        "run on each. `nox -s durable` runs that tier on every engine and framework, the broker",
        "checks (down, hung, stalled) and the checks below, each on FastAPI's durable app under",
        "uvicorn (the worker decides these, not the framework), with the engine's time-out",
        "shortened so that a redelivery comes within seconds. Each check counts at the SMTP server",
        "by address. What the engines share (a 503 when the broker is down or hangs, the answer",
        "only once Redis has the message, the worker in a process of its own) is in",
        "[durable.md](durable.md).",
        "",
        *_table(root),
        "",
        "A tick: the last `nox -s durable` saw what is declared. Each value links to its reason.",
        "",
        "## Why, and where it comes from",
        "",
        *_reasons(root),
        "## How each engine enqueues, and its worker",
        "",
        "The apps are the same four files on every engine ([durable.md](durable.md) has each one's",
        "diff from its in-process app); `await enqueue(email, sender, log)` is the engine module's:",
        "",
    ]
    for engine in ENGINES.values():
        parts += [f"### {engine.title} ([{engine.module}](../{engine.module.replace('.', '/')}.py), "
                  f"[docs]({engine.docs}))", "", "```python", enqueue_source(engine), "```", "",
                  f"The worker: `{' '.join(engine.worker_command(4, 'w1'))}`. {_versions(engine, root)}", ""]
    return "\n".join(parts)


#: The stops docs/reliability.md shows per engine, from the engine checks' observations.
STOPS = {"redelivery_after_worker_sigkill": "SIGKILL of the worker (all of its processes)",
         "sigterm_to_the_worker_main": "SIGTERM to the worker's main process",
         "sigterm_to_the_worker_group": "SIGTERM to every process of the worker",
         "redis_sigkill": "SIGKILL of Redis"}


def reliability_section(root: Path = OBSERVED) -> str:
    """docs/reliability.md's rows per engine: each stop, counted at the SMTP server by address."""
    engines = list(ENGINES.values())
    rows = ["| stop, 8 accepted, 4 mid-send | " + " | ".join(e.title for e in engines) + " |",
            "|---" * (len(engines) + 1) + "|"]
    for prop, stop in STOPS.items():
        cells = []
        for engine in engines:
            seen = observed(engine.name, prop, root)
            if seen is None:
                cells.append("not measured yet")
                continue
            how = f" (held ones sent by {seen['held_sent_by']})" if "held_sent_by" in seen else \
                f" (only {seen['how']})" if seen["how"] != "alone" else ""
            cells.append(f"{seen['lost']}/8 lost, {seen['twice']} duplicated{how}")
        rows.append(f"| {stop} | " + " | ".join(cells) + " |")
    return "\n".join([
        "## Durable, per engine",
        "",
        "The same stops on each engine ([queues.md](queues.md), `nox -s durable`): FastAPI's durable",
        "app under uvicorn, one worker with a concurrency of 4, 8 notifications accepted while the",
        "SMTP server holds every e-mail, then the stop, a new worker (or Redis) at once, and every",
        "address counted once the broker holds nothing. The engines' time-outs are shortened as",
        "[durable/engines.toml](../durable/engines.toml) says, so that a redelivery comes within",
        "seconds.",
        "",
        *rows,
        "",
    ])
