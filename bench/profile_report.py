"""The page's "Where the time goes": the profile table, and how the profiles were taken.

The statement about pinning, load and versions is read from each profile's `taken`
record (bench.profile), never assumed: a profile that did not record it says so.
"""

from __future__ import annotations

from typing import Any

from bench.data import Data
from bench.scenarios import ENDPOINTS
from bench.template import and_list


def section(data: Data) -> list[str]:
    intro = ("Each framework's app under uvicorn inside cProfile, one endpoint at a time "
             "(`bench/profile.py`). Own time per request on the event-loop thread, in µs under the "
             "profiler (which inflates them: read the shares), and the functions whose own time "
             "grew most against `/none`.")
    out = ["## Where the time goes", "", intro, "", how_taken(data), ""]
    rows = []
    for prof in data["profiles"]:
        total = prof["total_us"]
        for e in ENDPOINTS[1:]:
            top = "; ".join(f"`{t['function']}` +{t['extra_us']:.1f}" for t in prof[e][:4])
            rows.append([f"{prof['framework']}", f"`/{e}`", f"{total['none']:.0f} → {total[e]:.0f}",
                         f"{total[e] / total['none'] - 1:+.0%}", top])
    header = ["framework", "endpoint", "µs/request (none → with task)", "change",
              "largest additions (µs/request)"]
    out += ["| " + " | ".join(header) + " |", "|---" * len(header) + "|",
            *("| " + " | ".join(row) + " |" for row in rows), ""]
    return out


def cores(cpus: list[int]) -> str:
    return f"core {cpus[0]}" if len(cpus) == 1 else f"cores {and_list([str(c) for c in cpus])}"


def placement(taken: dict[str, Any]) -> str:
    server, generator = taken["server_cpus"], taken["generator_cpus"]
    if len(server) == 1 and len(generator) == 1 and server != generator:
        return f"server pinned to {cores(server)} and wrk to {cores(generator)}"
    return f"not pinned apart: server on {cores(server)}, wrk on {cores(generator)}"


def how_taken(data: Data) -> str:
    profs = data["profiles"]
    unrecorded = [p["framework"] for p in profs if "taken" not in p]
    if unrecorded:
        return (f"How the profiles of {and_list(unrecorded)} were taken (pinned or not, under what load) "
                "was not recorded: read them with that in mind.")
    groups: dict[str, list[str]] = {}
    for p in profs:
        groups.setdefault(placement(p["taken"]), []).append(p["framework"])
    where = "; ".join(f"{how} ({'every framework' if len(fws) == len(profs) else and_list(fws)})"
                      for how, fws in groups.items())
    loads = [x for p in profs for x in p["taken"]["load_1m"]]
    n_cores = profs[0]["taken"]["cores"]
    busy = (f", above the machine's {n_cores} cores: other work shared it, and these numbers are "
            "noisier than on an idle machine" if max(loads) > n_cores else "")
    first = profs[0]["taken"]
    rounds = first.get("rounds", 1)
    side = f", in {rounds} rounds of the three endpoints side by side (medians)" if rounds > 1 else ""
    out = (f"How they were taken: {first['seconds']} s of wrk with {first['connections']} connections per "
           f"endpoint, after a warm-up{side}; {where}. The machine's load average (1 min) was "
           f"{min(loads):.1f} to {max(loads):.1f} around them{busy}.")
    return out + " " + versions_note(data)


def versions_note(data: Data) -> str:
    differ = {}
    for p in data["profiles"]:
        for name, version in p["taken"]["versions"].items():
            if data["versions"].get(name) != version:
                differ[name] = f"{name} {version} (above: {data['versions'].get(name, 'not recorded')})"
    if not differ:
        return "Same versions as the measurements above."
    return "Versions that differ from the measurements above: " + ", ".join(differ.values()) + "."
