"""Nothing lost, nothing let in: fuzzing, SMTP faults, shutdown and load on sixteen pairs.

`python -m reliability` runs the quick variant (CI); `python -m reliability --full` the
long one, which also writes `docs/reliability.md`. Sizes come from `AFTERWARD_RELIABILITY`
(`quick` or `full`), which the runner sets.
"""

import os

from shared.axes import SERVERS as RECORDS

#: The servers the checks run on unless `--server` names others: every one.
SERVERS = tuple(RECORDS)

FULL = os.environ.get("AFTERWARD_RELIABILITY", "quick") == "full"

#: Differential fuzzing: generated inputs, each sent to the four apps under one server.
FUZZ_EXAMPLES = 500 if FULL else 60
#: Sustained load: requests per pair, and the bound on the run's time.
LOAD_REQUESTS = 10_000 if FULL else 300
LOAD_SECONDS = 600.0
#: Notifications held at the SMTP server when SIGTERM or SIGKILL arrives.
IN_FLIGHT = 20
#: Notifications delivered before the SIGKILL, which must stay delivered exactly once.
DELIVERED_BEFORE_KILL = 10
#: Full runs hold them this long after SIGTERM: longer than hypercorn's default 3-s grace.
#: Quick runs hold them 0 s, except where that races a 0-s grace (a server without one): see
#: `Shutdown.hold_for`.
HOLD_AFTER_SIGTERM = 4.0 if FULL else 0.0


def unroutable(address: str) -> bool:
    """An address that cannot be one path segment: each router answers it its own way."""
    return "/" in address or address in (".", "..")
