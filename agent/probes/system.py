"""Uptime, process count and logged-in users."""

from __future__ import annotations

from agent.clock import Clock
from agent.probes import catalog
from agent.probes.catalog import Sample
from agent.probes.source import HostSource


class SystemProbe:
    """Whole-host counts that need no history."""

    name = "system"

    def __init__(self, source: HostSource, clock: Clock) -> None:
        self._source = source
        self._clock = clock

    def collect(self) -> list[Sample]:
        uptime = max(0.0, self._clock.time() - self._source.boot_time())
        return [
            catalog.UPTIME.sample(uptime),
            catalog.PROCESSES.sample(self._source.process_count()),
            catalog.USERS.sample(self._source.user_count()),
        ]
