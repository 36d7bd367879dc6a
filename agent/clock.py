"""The clock the agent reads, as an argument so tests can drive time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time for timestamps and monotonic time for intervals and rates."""

    def time(self) -> float:
        """Seconds since the Unix epoch (wall clock; may jump)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()
