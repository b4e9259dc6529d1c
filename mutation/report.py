"""docs/mutation.md, rendered from a run's data and the declared equivalent mutants."""

from __future__ import annotations

import importlib.metadata
import json
from collections import Counter
from typing import Any

from mutation.mutants import DECLARED, Key, declared
from mutation.targets import EXCLUDED_OPERATORS, KILL_SERVER, TARGETS
from shared.servers import REPO

__all__ = ["DATA", "INDEPENDENT", "NOTES", "PAGE", "counts", "data", "independent_section", "render",
           "with_kills", "write"]

DATA = REPO / "docs" / "mutation" / "mutation.json"
#: The independent apps' one-clause mutants (`python -m mutation --independent`).
INDEPENDENT = REPO / "docs" / "mutation" / "independent.json"
PAGE = REPO / "docs" / "mutation.md"
NOTES = REPO / "mutation" / "notes.md"
OUTCOMES = ("killed", "timeout", "survived", "error")


def counts(mutants: list[dict[str, Any]]) -> dict[str, int]:
    found = Counter(m["outcome"] for m in mutants)
    return {o: found[o] for o in OUTCOMES if found[o]}


def rows(mutants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every mutant that ran, by its stable key, and what killed it."""
    keep = ("line", "operator", "function", "outcome", "test", "phase", "message", "seconds", "diff")
    return [{**m["key"].as_dict(), **{k: m[k] for k in keep if m.get(k) is not None}} for m in mutants]


def data(mutants: list[dict[str, Any]], excluded: list[str], unappliable: list[dict[str, Any]],
         run: dict[str, Any]) -> dict[str, Any]:
    """What a full run leaves."""
    return {
        "tool": f"cosmic-ray {importlib.metadata.version('cosmic-ray')}",
        "runs": [run],
        "excluded": dict(sorted(Counter(excluded).items())),
        "unappliable": unappliable,
        "mutants": sorted(rows(mutants), key=lambda m: Key.of(m)),
    }


def rerun(previous: dict[str, Any], mutants: list[dict[str, Any]], run: dict[str, Any]) -> dict[str, Any]:
    """The previous data with the mutants run again (its survivors) replaced by their new outcome."""
    fresh = {Key.of(m): m for m in rows(mutants)}
    known = {Key.of(m) for m in previous["mutants"]}
    if set(fresh) - known:
        raise ValueError(f"re-run mutants the data does not know: {sorted(map(str, set(fresh) - known))}")
    merged = [fresh.get(Key.of(m), m) for m in previous["mutants"]]
    return {**previous, "runs": [*previous["runs"], run], "mutants": merged}


def with_kills(data: dict[str, Any], kills: list[dict[str, Any]]) -> dict[str, Any]:
    """The data with the runs of the killers of the mutants declared killed elsewhere."""
    return {**data, "elsewhere": sorted(kills, key=Key.of)}


def write(run: dict[str, Any]) -> None:
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(run, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    PAGE.write_text(render(run), encoding="utf-8")


def _code(text: str) -> str:
    text = text.replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def render(run: dict[str, Any], equivalents: list[dict[str, Any]] | None = None,
           independent: dict[str, Any] | None = None) -> str:
    """The page. Raises ValueError when a declared reason names no surviving mutant (stale)."""
    if equivalents is None:
        equivalents = declared().get("equivalent", [])
    if independent is None and INDEPENDENT.exists():
        independent = json.loads(INDEPENDENT.read_text(encoding="utf-8"))
    reasons = {Key.of(e): e["reason"] for e in equivalents}
    # Declared killed by a longer session's test: counted so only when a run of that test killed it.
    kills = {Key.of(k): k for k in run.get("elsewhere", []) if k["outcome"] == "killed"}
    elsewhere = {}
    for e in equivalents:
        if e.get("kind") != "elsewhere":
            continue
        key = Key.of(e)
        kill = kills.get(key)
        if kill is None or kill["killer"] != e["killer"]:
            del reasons[key]  # declared, not shown: no reason then
            continue
        elsewhere[key] = e
        reasons[key] = (f"killed by `{e['killer']}` (`nox -s {e['session']}`; run on {kill['pair']} against "
                        f"this mutant at commit `{kill['commit']}`, {kill['seconds']:g} s): {e['reason']}")
    mutants = run["mutants"]
    survivors = [m for m in mutants if m["outcome"] == "survived"]
    stale = sorted({Key.of(e) for e in equivalents} - {Key.of(m) for m in survivors})
    if stale:
        raise ValueError(f"{DECLARED.name} declares reasons for mutants that are not survivors of this run: "
                         + "; ".join(map(str, stale)))
    equivalent = [m for m in survivors if Key.of(m) in reasons and Key.of(m) not in elsewhere]
    observable = [m for m in survivors if Key.of(m) in elsewhere]
    unexplained = [m for m in survivors if Key.of(m) not in reasons]
    errors = [m for m in mutants if m["outcome"] == "error"]
    if errors:
        raise ValueError(f"the run has {len(errors)} mutant(s) the machinery failed on; it is no result")

    out = ["# Mutation testing", "",
           "<!-- Generated by `python -m mutation` (`nox -s mutation`) from docs/mutation/mutation.json and "
           "mutation/declared.toml; do not edit. -->", ""]
    total = len(mutants)
    killed = sum(m["outcome"] in ("killed", "timeout") for m in mutants)
    out += [f"{total} mutants of `shared/` and the four apps, made by {run['tool']}; the contract tier "
            f"({KILL_SERVER}) killed {killed}, {len(equivalent)} are equivalent, {len(observable)} change "
            f"what only a longer session sees and are killed by its test (each named below), "
            f"{len(unexplained)} survived without a reason.", ""]
    if independent:
        rates = _kill_rates(independent)
        out += ["On code the suite was not grown with, apps written from the spec alone: "
                + ", ".join(f"{app} {k} of {n} one-clause mutants killed" for app, k, n in rates)
                + " ([below](#independent-implementations)).", ""]
    for n, r in enumerate(run["runs"]):
        minutes, seconds = divmod(r["seconds"], 60)
        what = "every mutant" if r["what"] == "all" else "the survivors of the run before, again"
        out.append(f"{'- Run' if n == 0 else '- Then'}: {what} ({r['mutants']}), at commit "
                   f"`{r['commit']}`, in {minutes} min {seconds} s, {r['jobs']} sessions at a time "
                   f"(deadline {r['deadline_s']:g} s a mutant).")
    if run.get("elsewhere"):
        kills = run["elsewhere"]
        commits = ", ".join(f"`{c}`" for c in sorted({k["commit"] for k in kills}))
        minutes, seconds = divmod(round(sum(k.get("seconds") or 0 for k in kills)), 60)
        out.append(f"- And: the tests declared to kill {len(kills)} survivors (below), each against its "
                   f"mutant, at commit {commits}, in {minutes} min {seconds} s.")
    out.append("")
    out += ["| file | killer | mutants | killed by a test | killed by the deadline | equivalent "
            "| killed by a longer session | no reason |", "|---|---|---|---|---|---|---|---|"]
    for file, framework in TARGETS.items():
        mine = [m for m in mutants if m["file"] == file]
        n = Counter(m["outcome"] for m in mine)
        eq = sum(m["file"] == file for m in equivalent)
        seen = sum(m["file"] == file for m in observable)
        out.append(f"| `{file}` | {framework} | {len(mine)} | {n['killed']} | {n['timeout']} | {eq} | "
                   f"{seen} | {n['survived'] - eq - seen} |")
    out.append("")
    out += [NOTES.read_text(encoding="utf-8").rstrip(), ""]
    if run["excluded"]:
        out += [f"Left out, and not counted above: {sum(run['excluded'].values())} mutants made by the "
                "operators " + ", ".join(f"`{p}`" for p in EXCLUDED_OPERATORS)
                + " (see `mutation/targets.py` for why).", ""]

    for u in run.get("unappliable", []):
        out += [f"cosmic-ray lists a mutation it then fails to make: `{u['file']}:{u['line']}` "
                f"({u['operator'].removeprefix('core/')}: `{u['error']}`); it is not counted.", ""]
    out += ["## Survivors", ""]
    if unexplained:
        out += [f"### Not killed, no reason declared ({len(unexplained)})", ""]
        out += _mutant_blocks(unexplained, {})
    out += [f"### Equivalent ({len(equivalent)})", "",
            "Each changes nothing a client, the SMTP server, the log file or the process can observe.", ""]
    out += _mutant_blocks(equivalent, reasons)
    if observable:
        out += [f"### Killed by a longer session's test ({len(observable)})", "",
                "Each changes something observable at a cost the contract tier does not pay (a 30-s wait, "
                "a broker). `python -m mutation --elsewhere` (and every full or survivors' run, at its end) "
                "makes each in a copy of the tree and runs the test named against it; it counts here only "
                "when that test failed.", ""]
        out += _mutant_blocks(observable, reasons)

    out += ["## Every mutant killed, and the test that kills it", "",
            "The first test to fail, with `-x`; `(setup)` means the app did not start (the mutant breaks its "
            "import), `deadline` that the run did not end within the deadline.", ""]
    for file in TARGETS:
        mine = [m for m in mutants if m["file"] == file and m["outcome"] in ("killed", "timeout")]
        if not mine:
            continue
        out += [f"### `{file}`", "", "| line | removed | added | killed by | s |", "|---|---|---|---|---|"]
        for m in sorted(mine, key=lambda m: (m["line"], m["removed"], m["added"], m["nth"])):
            if m["outcome"] == "timeout":
                by = "deadline"
            else:
                name = m["test"].rpartition("::")[2]
                by = f"`{name}`" + ("" if m["phase"] == "call" else f" ({m['phase']})")
            seconds = f"{m['seconds']:.0f}" if m.get("seconds") is not None else "-"
            out.append(f"| {m['line']} | {_code(m['removed'])} | {_code(m['added'])} | {by} | {seconds} |")
        out.append("")
    if independent:
        out += independent_section(independent)
    return "\n".join(out).rstrip() + "\n"


def _kill_rates(independent: dict[str, Any]) -> list[tuple[str, int, int]]:
    apps = list(dict.fromkeys(m["app"] for m in independent["mutants"]))
    return [(app, sum(m["outcome"] == "killed" for m in independent["mutants"] if m["app"] == app),
             sum(m["app"] == app for m in independent["mutants"])) for app in apps]


def independent_section(independent: dict[str, Any]) -> list[str]:
    """The independent apps' one-clause mutants: kill rate per app, every survivor with its sentence."""
    from mutation.independent import APPS
    from mutation.independent_mutants import MUTANTS

    mutants = independent["mutants"]
    out = ["## Independent implementations", "",
           "Two apps written from [shared/SPEC.md](../shared/SPEC.md) alone "
           "([independent/](../independent/README.md)), and one-clause mutants of each "
           "([mutation/independent_mutants.py](../mutation/independent_mutants.py)): each breaks one "
           "sentence of the spec, named, and the contract tier runs on it as a user runs it "
           "(`python -m mutation --independent`).", ""]
    for r in independent["runs"]:
        minutes, seconds = divmod(r["seconds"], 60)
        versions = ", ".join(f"{k} {v}" for k, v in r["versions"].items())
        what = {"survivors, with --long": "the survivors again, with `--long`",
                "some": "some mutants again"}.get(r.get("what", "all"), "every mutant")
        out.append(f"- Run: {', '.join(r['apps'])}, {what} ({r['mutants']}), at commit `{r['commit']}`, "
                   f"in {minutes} min {seconds} s ({versions}).")
    out += ["", "| app | checked by | mutants | killed | of them only with `--long` | survived | kill rate |",
            "|---|---|---|---|---|---|---|"]
    for app, killed, total in _kill_rates(independent):
        record = APPS[app]
        long = sum(m["app"] == app and m["outcome"] == "killed" and m.get("long", False) for m in mutants)
        out.append(f"| [{app}](../{record.folder}/README.md) ({record.what}) | {record.checked_by} | "
                   f"{total} | {killed} | {long} | {total - killed} | {100 * killed / total:.0f}% |")
    out += ["", "### Survivors of the independent apps", "",
            "Each is a spec violation the contract tier lets through; the sentence it breaks, and why "
            "the suite, run on that app as a user runs it, cannot see it "
            "([mutation/independent_mutants.py](../mutation/independent_mutants.py), `unseen`):", ""]
    unseen = {(m.app, m.name): m.unseen for m in MUTANTS if m.unseen}
    stale = sorted(f"{m['app']} {m['name']}" for m in mutants
                   if m["outcome"] == "killed" and (m["app"], m["name"]) in unseen)
    if stale:
        raise ValueError(f"a reason why the suite cannot see it, for mutants it killed: {', '.join(stale)}")
    survivors = [m for m in mutants if m["outcome"] == "survived"]
    out += [f"- {m['app']} `{m['name']}` (clause {m['clause']}): {m['sentence'].rstrip('.')}. "
            + (f"Unseen: {unseen[m['app'], m['name']]}." if (m["app"], m["name"]) in unseen
               else "**Not killed, no reason declared.**") for m in survivors]
    out += [] if survivors else ["None."]
    out += ["", "### Killed, and the tests that failed", "",
            "| app | mutant | clause | failed tests (their clauses) | s |", "|---|---|---|---|---|"]
    for m in mutants:
        if m["outcome"] == "killed":
            tests = ", ".join(f"`{t}`" for t in m["killed_by"])
            tests += " (with `--long`)" if m.get("long") else ""
            out.append(f"| {m['app']} | `{m['name']}` | {m['clause']} | {tests} "
                       f"({', '.join(m['clauses'])}) | {m['seconds']:.0f} |")
    return out + [""]


def _mutant_blocks(mutants: list[dict[str, Any]], reasons: dict[Key, str]) -> list[str]:
    out = []
    for m in sorted(mutants, key=lambda m: (m["file"], m["line"], m["nth"])):
        reason = reasons.get(Key.of(m))
        where = f"in `{m['function']}`, " if m.get("function") else ""
        out += [f"- `{m['file']}:{m['line']}` ({where}{m['operator'].removeprefix('core/')})"
                + (f": {reason}" if reason else ""), "", "  ```diff"]
        out += [f"  {line}" for line in m["diff"].splitlines()]
        out += ["  ```", ""]
    return out
