"""A median with its bootstrap 95% interval, and what the interval allows one to say.

The wall and CPU tier takes one ratio (or difference) per round, between cells measured
side by side; the median over rounds is the figure and the interval comes from resampling
the rounds. A difference is called only where the interval excludes "no difference" (1 for
a ratio, 0 for a difference). The resampling is seeded, so a page rendered twice from the
same data is the same page.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Interval", "interval"]

RESAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    median: float
    low: float
    high: float
    n: int  # rounds

    def excludes(self, value: float) -> bool:
        return not self.low <= value <= self.high

    def verdict(self, none: float = 1.0, more: str = "more", less: str = "less") -> str:
        """`more`/`less` where the interval lies wholly on one side of `none`, else no difference."""
        if self.low > none:
            return more
        if self.high < none:
            return less
        return "no measurable difference"

    def show(self, fmt: str = "{:.2f}") -> str:
        """`0.97 (0.95–0.99)`: the median and the 95% interval."""
        return f"{fmt.format(self.median)} ({fmt.format(self.low)}–{fmt.format(self.high)})"


def interval(xs: Sequence[float], seed: int = 0) -> Interval:
    """The median of `xs` and a percentile bootstrap 95% interval of it."""
    if not xs:
        raise ValueError("no rounds to take a median of")
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(RESAMPLES))
    tail = (1 - LEVEL) / 2
    low = medians[int(tail * RESAMPLES)]
    high = medians[min(RESAMPLES - 1, int((1 - tail) * RESAMPLES))]
    return Interval(statistics.median(xs), low, high, len(xs))
