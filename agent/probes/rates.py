"""Per-second rates from cumulative counters that may wrap (32 or 64 bit) or reset.

A counter that went down either wrapped past its maximum or was reset (reboot, driver
reload, interface re-created). A wrap is accepted when the wrapped increase is under
half the counter's range; anything else is a reset and yields no rate for that interval
(never a negative or absurd one). A changed boot time resets every counter at once.
"""

from __future__ import annotations

from collections.abc import Hashable

COUNTER_32_RANGE = 2**32
COUNTER_64_RANGE = 2**64
# psutil derives boot time from uptime on some systems, so it can move by a second.
BOOT_TIME_TOLERANCE_SECONDS = 2.0


def counter_increase(previous: int, current: int) -> int | None:
    """How much a counter grew between two reads, allowing one wrap; None after a reset."""
    if current >= previous:
        return current - previous
    width = COUNTER_32_RANGE if previous < COUNTER_32_RANGE else COUNTER_64_RANGE
    wrapped = width - previous + current
    return wrapped if wrapped < width // 2 else None


class CounterRates:
    """Remembers the last read of each counter and turns the next read into a rate.

    Use one instance per probe: `begin(boot_time)`, then `rate(...)` for every counter,
    then `end()`, which forgets counters not read this cycle (removed interfaces).
    """

    def __init__(self) -> None:
        self._previous: dict[Hashable, tuple[int, float]] = {}
        self._current: dict[Hashable, tuple[int, float]] = {}
        self._boot_time: float | None = None

    def begin(self, boot_time: float) -> None:
        """Start a cycle; a different boot time means every counter restarted."""
        if self._boot_time is not None and (
            abs(boot_time - self._boot_time) > BOOT_TIME_TOLERANCE_SECONDS
        ):
            self._previous = {}
        self._boot_time = boot_time
        self._current = {}

    def rate(self, key: Hashable, value: int, now: float) -> float | None:
        """Per-second increase of counter `key` since its last read at monotonic `now`."""
        self._current[key] = (value, now)
        previous = self._previous.get(key)
        if previous is None:
            return None
        elapsed = now - previous[1]
        if elapsed <= 0:
            return None
        increase = counter_increase(previous[0], value)
        return None if increase is None else increase / elapsed

    def end(self) -> None:
        """Finish a cycle: this cycle's reads become the baseline for the next one."""
        self._previous = self._current
        self._current = {}
