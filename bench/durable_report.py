"""The durable section of docs/benchmarks.md and its plot, from the data's `durable` member
(`bench.durable`): the enqueue cost beside the in-process task, and the delivery rate."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

__all__ = ["cost_ratios", "plot", "rates", "section"]


def spread(xs: list[float], fmt: str = "{:.0f}") -> str:
    if not xs:
        return "n/a"
    med = fmt.format(statistics.median(xs))
    return med if len(xs) == 1 else f"{med} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def frameworks(durable: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(r["framework"] for r in durable["enqueue"]))


def cost(durable: dict[str, Any], framework: str, app: str, key: str = "cpu_us_per_request") -> list[float]:
    return [r[app][key] for r in durable["enqueue"] if r["framework"] == framework]


def cost_ratios(durable: dict[str, Any], framework: str) -> list[float]:
    """Durable CPU µs per request over in-process, inside each run (measured side by side)."""
    return [r["durable"]["cpu_us_per_request"] / r["inprocess"]["cpu_us_per_request"]
            for r in durable["enqueue"]
            if r["framework"] == framework and r["inprocess"]["cpu_us_per_request"]]


def rates(durable: dict[str, Any], workers: int, key: str = "per_s") -> list[float]:
    return [r[key] for r in durable["delivery"] if r["workers"] == workers]


def speedups(durable: dict[str, Any]) -> list[float]:
    """Two workers' rate over one's, inside each run."""
    one = {r["run"]: r["per_s"] for r in durable["delivery"] if r["workers"] == 1}
    return [r["per_s"] / one[r["run"]] for r in durable["delivery"]
            if r["workers"] == 2 and one.get(r["run"])]


def section(data: dict[str, Any], rel: Path, images: dict[str, str]) -> list[str]:
    d = data["durable"]
    size = d["size"]
    runs = len({r["run"] for r in d["delivery"]})
    out = ["## 8. The durable apps: what enqueueing costs, and scale-out", "",
           f"Each framework's durable app (`frameworks/*_durable_app.py`: the task goes to Celery on "
           f"Redis) against its in-process app, under {size['server']}, one after the other in each of "
           f"{runs} run(s): `POST /send-notification/...` from wrk ({size['connections']} connections, "
           f"{size['seconds']} s, after {size['warmup']} warm-up POSTs). CPU µs per request is the web "
           "server's (user + system, /proc): for the in-process app it includes the task, the e-mail "
           "to the embedded SMTP server, read once every e-mail has arrived; for the durable app, the "
           "enqueue, read once every message is in Redis (no worker runs then: the e-mail is the "
           "worker's CPU, elsewhere). Ratios are taken inside a run, then the median."
           + (f" These measurements, a run of their own (`python -m bench --durable`), took {d['seconds']} s"
              if "seconds" in d else "")
           + (f", load average (1 min) {d['load_1m'][0]:.1f} at their start, {d['load_1m'][1]:.1f} at "
              "their end." if "load_1m" in d else "." if "seconds" in d else ""), ""]
    rows = [[f, spread(cost(d, f, "inprocess")), spread(cost(d, f, "durable")),
             spread(cost_ratios(d, f), "{:.2f}"), spread(cost(d, f, "inprocess", "rps")),
             spread(cost(d, f, "durable", "rps")),
             str(int(sum(cost(d, f, "inprocess", "errors")) + sum(cost(d, f, "durable", "errors"))))]
            for f in frameworks(d)]
    out += table(["framework", "in-process CPU µs/request", "durable CPU µs/request", "durable / in-process",
                  "in-process requests/s", "durable requests/s", "errors"], rows)
    out += [f"Delivery: {size['backlog']} notifications queued in Redis first, then one or two Celery "
            f"workers started together, each prefork with concurrency {size['concurrency']} (so two "
            "workers are twice the capacity), on one Redis. Notifications/s: e-mails at the SMTP "
            "server from the first arrival to the last.", "",
            f"![drain]({rel / images['drain']})", ""]
    rows = [[str(w), spread(rates(d, w), "{:.1f}"), spread(rates(d, w, "seconds"), "{:.2f}"),
             str(int(sum(rates(d, w, "duplicates"))))] for w in (1, 2)]
    out += table(["workers", "notifications/s", f"seconds for {size['backlog']}", "duplicates"], rows)
    out += [f"Two workers over one, inside a run: {spread(speedups(d), '{:.2f}')}×.", ""]
    return out


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def plot(data: dict[str, Any], folder: Path) -> str:
    """The backlog over time, one line per run and worker count; returns the file name."""
    import matplotlib.pyplot as plt

    d = data["durable"]
    fig, ax = plt.subplots(figsize=(11, 4.2))
    colours = {1: "tab:blue", 2: "tab:orange"}
    for w in (1, 2):
        for i, r in enumerate(r for r in d["delivery"] if r["workers"] == w):
            ts, left = [t for t, _ in r["drain"]], [n for _, n in r["drain"]]
            ax.step([0.0, *ts], [r["notifications"], *left], where="post", color=colours[w], alpha=0.8,
                    label=f"{w} worker{'s' if w > 1 else ''}" if i == 0 else None)
    ax.set_title(f"Backlog of {d['size']['backlog']} notifications draining: one worker against two "
                 f"(prefork, concurrency {d['size']['concurrency']} each)")
    ax.set_xlabel("seconds since the first e-mail arrived")
    ax.set_ylabel("notifications not yet delivered")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "drain.png", dpi=90)
    plt.close(fig)
    return "drain.png"
