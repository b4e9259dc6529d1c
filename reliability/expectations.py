"""What the shutdown checks expect, derived from the semantics tier's declared table.

SIGTERM, the scenario: every `async def` sender is mid-send (its e-mail's data at the SMTP
server, the reply held), as many `def` senders as there are threads too, the rest of
them queued for a thread. A server (or Quart, for its own tasks) waits
`sigterm_default_grace_seconds`, then cancels what still runs. If the hold outlasts the
grace:

- an `async def` sender is cancelled: the app records neither success nor failure;
- a `def` sender already running in a worker thread finishes (a thread cannot be
  cancelled) and sees its 250;
- a `def` sender still queued for a thread (beyond `sync_task_pool_size`) is cancelled
  before it starts: lost.

Held for less than the grace, every sender sees its 250. That is what the app knows
(`confirmed`), and it is compared exactly. What reaches the SMTP server can be more: a
cancelled aiosmtplib send leaves its `async with` by sending QUIT and waiting for a
reply, so if nothing cancels it again its connection stays open until the held 250
arrives and the server has the e-mail that the app thinks was lost. Whether something
cancels it again is a detail of the server's task groups (measured: hypercorn lets it
finish when the same HTTP connection still waits for a `def` sender's thread, not when
the connection holds only cancelled tasks), so the model bounds it instead: between
none and all of the cancelled `async def` senders, never a queued `def` sender.

A server without a grace (no `grace_option` in its record; `sigterm_default_grace_seconds` 0): at
the signal its worker
stops running its loop, runs the lifespan shutdown and exits, cancelling nothing. So an
`async def` sender mid-send never sees its reply, while every `def` sender finishes: one
in a worker thread runs on (the interpreter joins the thread before the process exits),
and one queued in the loop's default executor (Litestar's and Quart's `def` tasks) runs
at the interpreter's exit too, since nothing cancelled its future (measured: Litestar's 4
queued senders, which a cancelling server loses, are delivered there). The
scenario's 10 `def` senders never wait for one of anyio's 40 threads, whose queue lives
in the stopped loop. Its one shutdown setting,
`--workers-kill-timeout`, bounds only how long the parent waits for a worker that did not
exit; so "configured" changes nothing there but Quart's own time-out.

A worker killed rather than let finish (a process manager whose declared cells lose both a
short `async def` task and a `def` task's thread at SIGTERM: `hypercorn --workers 2`, whose
supervisor terminates the busy worker once the idle one has exited) loses every sender, `def`
ones in their threads too, and a longer configured grace does not change that.

SIGKILL: in-process tasks die with the process. Every notification in flight at the
kill is lost; every one delivered before it was delivered once, and stays so.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass

from conformance.declared import cell
from conformance.fixtures import Pair
from conformance.plugin import resolve
from shared.servers import FRAMEWORKS, RUNNABLE

__all__ = ["CONFIGURED_GRACE", "GRACE_OPTION", "Shutdown", "declared_framework", "in_process_after_kill",
           "outcome", "split"]

#: A hold this close to a grace period (seconds) is a race between two timers, not an
#: expectation: the model refuses it rather than guess.
MARGIN = 0.5
#: The grace every server and Quart get in the `configured` runs (test_shutdown.CONFIGURED).
CONFIGURED_GRACE = 30.0
#: Each server's setting for how long it lets running requests, tasks included, go on
#: after SIGTERM; None for a server without one (see the module's docstring).
GRACE_OPTION: dict[str, str | None] = {name: record.grace_option for name, record in RUNNABLE.items()}


def declared_framework(pair: Pair) -> str:
    """The framework whose declared semantics apply: the pair's own, or the one an app
    given with `--app` names in its module's `DECLARED_AS`."""
    if pair.framework in FRAMEWORKS:
        return pair.framework
    module = importlib.import_module(pair.app.partition(":")[0])
    declared = getattr(module, "DECLARED_AS", None)
    if declared not in FRAMEWORKS:
        raise LookupError(f"{pair.app}: no DECLARED_AS naming one of {', '.join(FRAMEWORKS)}; "
                          "the shutdown checks need its declared semantics")
    return declared


def split(senders: Sequence[str]) -> dict[str, int]:
    return {"async": sum(1 for s in senders if s == "async"), "sync": sum(1 for s in senders if s == "sync")}


def outcome(delivered: dict[str, int], total: dict[str, int]) -> str:
    """One comparable text for observed and expected: '10/20 (async 0/10, def 10/10)'."""
    return (f"{delivered['async'] + delivered['sync']}/{total['async'] + total['sync']} "
            f"(async {delivered['async']}/{total['async']}, def {delivered['sync']}/{total['sync']})")


@dataclass(frozen=True)
class Shutdown:
    """SIGTERM with notifications held at SMTP for `hold` seconds after the signal."""

    grace: float | None  # None: the server waits without limit
    pool: int  # `def` tasks running at once; the rest queue for a thread
    hold: float
    margin: float = MARGIN  # a hold closer than this to the grace is a race
    #: At the end of the grace the worker is killed, not its tasks cancelled: `def` senders in their
    #: threads die with it (hypercorn's supervisor with two workers: sigterm_lets_short_task_finish
    #: and sigterm_waits_for_running_sync_task both lose their task).
    kills: bool = False
    #: When the grace runs out the process ends before its threads do: `def` senders still in a
    #: thread die with it (sigterm_waits_for_running_sync_task loses its task: Quart on uvicorn,
    #: where uvicorn raises the SIGTERM again once Quart's 5 s are over; gunicorn's SIGKILL).
    threads_die: bool = False

    @classmethod
    def declared(cls, framework: str, server: str, hold: float) -> Shutdown:
        declared = cell("sigterm_default_grace_seconds", framework, server)
        grace = resolve(declared.value)
        pool = resolve(cell("sync_task_pool_size", framework, server).value)
        margin = max(MARGIN, declared.tolerance)  # an exit without a grace takes up to its tolerance
        thread = cell("sigterm_waits_for_running_sync_task", framework, server)
        short = cell("sigterm_lets_short_task_finish", framework, server)
        threads_die = thread.also.get("task") == "lost"
        kills = threads_die and not short.value
        unbounded = grace == "unbounded"
        return cls(None if unbounded else float(grace), int(pool), hold, margin, kills, threads_die)

    @classmethod
    def configured(cls, framework: str, server: str, hold: float,
                   grace: float = CONFIGURED_GRACE) -> Shutdown:
        """With the server's grace (and Quart's) set to `grace`."""
        defaults = cls.declared(framework, server, hold)
        if defaults.kills:  # the worker is killed when another exits, whatever grace it was given
            return defaults
        if GRACE_OPTION[server] is None and framework != "quart":
            return defaults  # nothing to configure: Quart's tasks are its own, with its own time-out
        return cls(grace, defaults.pool, hold, kills=defaults.kills, threads_die=defaults.threads_die)

    @staticmethod
    def hold_for(framework: str, server: str, hold: float) -> float:
        """The hold after SIGTERM: `hold`, unless that races the declared grace (a 0-s one
        against the quick run's 0-s hold); then long enough to be past it."""
        model = Shutdown.declared(framework, server, hold)
        if model.grace is None or abs(hold - model.grace) >= model.margin:
            return hold
        return model.grace + 2 * model.margin

    @property
    def cancels(self) -> bool:
        """Whether the grace runs out while the notifications are still held."""
        if self.grace is None:
            return False
        if abs(self.hold - self.grace) < self.margin:
            raise ValueError(f"hold {self.hold:g} s within {self.margin:g} s of the {self.grace:g}-s grace: "
                             "a race")
        return self.hold > self.grace

    def running_sync(self, senders: Sequence[str]) -> int:
        """How many `def` senders reach the SMTP server at once: as many as there are threads."""
        return min(split(senders)["sync"], self.pool)

    @property
    def stops_loop(self) -> bool:
        """A grace of 0: the loop stops at the signal and nothing is cancelled (a server without a grace)."""
        return self.grace == 0

    def confirmed(self, senders: Sequence[str]) -> str:
        """Seen by the senders (their `mail_sent` event): what the app knows was delivered."""
        n = split(senders)
        if not self.cancels:
            return outcome(n, n)
        if self.kills or self.threads_die:
            return outcome({"async": 0, "sync": 0}, n)
        return outcome({"async": 0, "sync": n["sync"] if self.stops_loop else self.running_sync(senders)}, n)

    def unrecorded_bound(self, senders: Sequence[str]) -> int:
        """At most this many e-mails reach the SMTP server without their sender seeing the 250:
        the cancelled `async def` sends (see the module's docstring)."""
        return split(senders)["async"] if self.cancels else 0

    def why(self) -> str:
        if self.grace is None:
            return "no limit on the grace: all confirmed"
        if not self.cancels:
            return f"held {self.hold:g} s < grace {self.grace:g} s: all confirmed"
        if self.kills:
            return f"held {self.hold:g} s > grace {self.grace:g} s: the worker is killed, all senders with it"
        if self.threads_die:
            return (f"held {self.hold:g} s > grace {self.grace:g} s: async def senders cancelled, then the "
                    "process ends, def senders in their threads with it")
        if self.stops_loop:
            return (f"held {self.hold:g} s, no grace: the loop stops, nothing is cancelled; async def "
                    "senders never resume, def senders in threads and queued in the executor finish")
        return (f"held {self.hold:g} s > grace {self.grace:g} s: async def senders cancelled, def senders in "
                f"the {self.pool} threads finish, queued ones cancelled")


def in_process_after_kill(in_flight: int, before: int) -> tuple[str, str]:
    """SIGKILL, in-process tasks: (in flight at the kill lost, delivered before delivered once)."""
    return f"{in_flight}/{in_flight}", f"{before}/{before}"
