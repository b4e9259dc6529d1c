"""Which accepted notifications were delivered: by address, never by count.

A count of delivered e-mails equal to the number accepted can hide a loss behind a
duplicate (one address twice, another never); so every check compares the set of
addresses answered 200 with the e-mails the SMTP sink answered 250, per address.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Tally"]


@dataclass(frozen=True)
class Tally:
    accepted: frozenset[str]
    #: Deliveries (250 answers) per recipient, accepted or not.
    counts: Counter[str]

    @classmethod
    def of(cls, accepted: Iterable[str], counts: Counter[str]) -> Tally:
        return cls(frozenset(accepted), Counter(counts))

    @property
    def delivered(self) -> frozenset[str]:
        """Accepted addresses delivered at least once."""
        return frozenset(a for a in self.accepted if self.counts[a] > 0)

    @property
    def missing(self) -> frozenset[str]:
        """Accepted and never delivered: lost."""
        return self.accepted - self.delivered

    @property
    def duplicates(self) -> int:
        """Deliveries beyond the first, to any address."""
        return sum(n - 1 for n in self.counts.values() if n > 1)

    @property
    def unexpected(self) -> frozenset[str]:
        """Delivered but never accepted (a refused or failed request that sent mail anyway)."""
        return frozenset(a for a, n in self.counts.items() if n > 0) - self.accepted

    def ratio(self) -> str:
        return f"{len(self.delivered)}/{len(self.accepted)}"

    def sample(self, limit: int = 5) -> dict[str, list[str]]:
        """A few of each kind of discrepancy, for the report row."""
        dup = sorted(a for a, n in self.counts.items() if n > 1)
        return {"missing": sorted(self.missing)[:limit], "duplicated": dup[:limit],
                "unexpected": sorted(self.unexpected)[:limit]}
