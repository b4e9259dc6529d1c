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
from shared.servers import FRAMEWORKS

__all__ = ["CONFIGURED_GRACE", "Shutdown", "declared_framework", "in_process_after_kill", "outcome", "split"]

#: A hold this close to a grace period (seconds) is a race between two timers, not an
#: expectation: the model refuses it rather than guess.
MARGIN = 0.5
#: The grace every server and Quart get in the `configured` runs (test_shutdown.CONFIGURED).
CONFIGURED_GRACE = 30.0


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

    @classmethod
    def declared(cls, framework: str, server: str, hold: float) -> Shutdown:
        grace = resolve(cell("sigterm_default_grace_seconds", framework, server).value)
        pool = resolve(cell("sync_task_pool_size", framework, server).value)
        return cls(None if grace == "unbounded" else float(grace), int(pool), hold)

    @classmethod
    def configured(cls, framework: str, server: str, hold: float) -> Shutdown:
        return cls(CONFIGURED_GRACE, cls.declared(framework, server, hold).pool, hold)

    @property
    def cancels(self) -> bool:
        """Whether the grace runs out while the notifications are still held."""
        if self.grace is None:
            return False
        if abs(self.hold - self.grace) < MARGIN:
            raise ValueError(f"hold {self.hold:g} s within {MARGIN} s of the {self.grace:g}-s grace: a race")
        return self.hold > self.grace

    def running_sync(self, senders: Sequence[str]) -> int:
        """How many `def` senders reach the SMTP server at once: as many as there are threads."""
        return min(split(senders)["sync"], self.pool)

    def confirmed(self, senders: Sequence[str]) -> str:
        """Seen by the senders (their `mail_sent` event): what the app knows was delivered."""
        n = split(senders)
        return outcome(n if not self.cancels else {"async": 0, "sync": self.running_sync(senders)}, n)

    def unrecorded_bound(self, senders: Sequence[str]) -> int:
        """At most this many e-mails reach the SMTP server without their sender seeing the 250:
        the cancelled `async def` sends (see the module's docstring)."""
        return split(senders)["async"] if self.cancels else 0

    def why(self) -> str:
        if self.grace is None:
            return "no limit on the grace: all confirmed"
        if not self.cancels:
            return f"held {self.hold:g} s < grace {self.grace:g} s: all confirmed"
        return (f"held {self.hold:g} s > grace {self.grace:g} s: async def senders cancelled, def senders in "
                f"the {self.pool} threads finish, queued ones cancelled")


def in_process_after_kill(in_flight: int, before: int) -> tuple[str, str]:
    """SIGKILL, in-process tasks: (in flight at the kill lost, delivered before delivered once)."""
    return f"{in_flight}/{in_flight}", f"{before}/{before}"
