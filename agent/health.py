"""The agent's own state, published by the loop and read by the `/metrics` thread."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

from agent.probes.catalog import Sample
from agent.spool import SpoolStatus


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """One consistent view: the latest host samples and the delivery counters."""

    samples: tuple[Sample, ...] = ()
    probe_failures: int = 0
    spool_depth: int = 0
    spool_bytes: int = 0
    dead_letters: int = 0
    dropped_reports: int = 0
    send_failures: int = 0
    delivered_reports: int = 0
    last_success_at: float | None = None


class AgentHealth:
    """Holds the current snapshot; replaced whole, so a reader never sees half an update."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot = HealthSnapshot()

    def snapshot(self) -> HealthSnapshot:
        with self._lock:
            return self._snapshot

    def publish_samples(self, samples: list[Sample], failures: int) -> None:
        with self._lock:
            self._snapshot = dataclasses.replace(
                self._snapshot,
                samples=tuple(samples),
                probe_failures=self._snapshot.probe_failures + failures,
            )

    def publish_spool(self, status: SpoolStatus) -> None:
        with self._lock:
            self._snapshot = dataclasses.replace(
                self._snapshot,
                spool_depth=status.depth,
                spool_bytes=status.size_bytes,
                dead_letters=status.dead_letters,
                dropped_reports=status.dropped_reports,
                send_failures=status.send_failures,
                delivered_reports=status.delivered_reports,
                last_success_at=status.last_success_at,
            )
