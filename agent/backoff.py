"""Exponential backoff with jitter, and the collector's `Retry-After` header."""

from __future__ import annotations

import random
from collections.abc import Callable
from email.utils import parsedate_to_datetime

# A misbehaving proxy's "Retry-After: 86400" must not silence an agent for a day.
MAX_RETRY_AFTER_SECONDS = 3600.0


class Backoff:
    """Delay before retry number `failures` (1, 2, ...): doubling from `initial` up to
    `maximum`, then "equal jitter" (a random point in the upper half) so agents that
    failed together do not retry together, yet never retry sooner than half the step.
    """

    def __init__(
        self,
        initial_seconds: float = 1.0,
        maximum_seconds: float = 300.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.initial_seconds = initial_seconds
        self.maximum_seconds = maximum_seconds
        self._rng = rng

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        exponent = min(max(failures, 1) - 1, 30)
        step = min(self.maximum_seconds, self.initial_seconds * 2.0**exponent)
        delay = step / 2.0 + self._rng() * step / 2.0
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return delay


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)
