"""The agent loop: collect, spool, send; and how `run` and `once` use it.

A cycle always ends with the report(s) in the spool before any send starts, so a crash,
a kill or an outage never loses what was collected; a stop request is honoured between
sends, never in the middle of one.
"""

from __future__ import annotations

import functools
import gzip
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from agent.clock import Clock
from agent.errors import SpoolError
from agent.health import AgentHealth
from agent.inventory import Inventory, InventoryReader
from agent.probes.collector import HostCollector
from agent.report import InventoryTracker, build_reports, encode_report
from agent.shipper import Shipper
from agent.spool import Spool

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LoopTiming:
    interval_seconds: float = 15.0
    inventory_check_seconds: float = 300.0
    inventory_refresh_seconds: float = 86400.0


@dataclass(frozen=True, slots=True)
class CycleResult:
    report_ids: list[str] = field(default_factory=list)
    samples: int = 0
    with_inventory: bool = False
    dropped: int = 0


class AgentLoop:
    """Owns one collector, inventory reader, spool and shipper."""

    def __init__(
        self,
        agent_id: str,
        collector: HostCollector,
        inventory: InventoryReader,
        spool: Spool,
        shipper: Shipper,
        clock: Clock,
        timing: LoopTiming,
        health: AgentHealth | None = None,
    ) -> None:
        self._agent_id = agent_id
        self._collector = collector
        self._inventory = inventory
        self._spool = spool
        self._shipper = shipper
        self._clock = clock
        self._timing = timing
        self._health = health or AgentHealth()
        self._tracker = InventoryTracker(timing.inventory_refresh_seconds)
        self._inventory_check_at: float | None = None

    def prime(self) -> None:
        """Take a first reading so the next cycle has rates (used by one-shot runs)."""
        self._collector.collect()

    def cycle(self) -> CycleResult:
        """Collect once and spool the report(s); raises `SpoolError` if it cannot store them."""
        collected_at = self._clock.time()
        collection = self._collector.collect()
        self._health.publish_samples(collection.samples, len(collection.failures))
        inventory = self._inventory_if_due()
        reports = build_reports(self._agent_id, collected_at, collection.samples, inventory)
        dropped = 0
        for report in reports:
            body = gzip.compress(encode_report(report), compresslevel=6, mtime=0)
            dropped += self._spool.put(report["report_id"], body, "inventory" in report)
        if inventory is not None:
            self._tracker.mark_sent(inventory, self._clock.monotonic())
        return CycleResult(
            [report["report_id"] for report in reports],
            len(collection.samples), inventory is not None, dropped,
        )

    def _inventory_if_due(self) -> Inventory | None:
        now = self._clock.monotonic()
        if self._inventory_check_at is not None and now < self._inventory_check_at:
            return None
        self._inventory_check_at = now + self._timing.inventory_check_seconds
        try:
            inventory = self._inventory.read()
        except Exception as exc:  # a broken inventory source must not stop the metrics
            log.warning("inventory not read: %s: %s", type(exc).__name__, exc)
            return None
        if not self._tracker.should_send(inventory, now):
            return None
        if not self._tracker.has_sent:
            log.info("sending the inventory")
        else:
            changed = ", ".join(self._tracker.changes(inventory)) or "none, daily refresh"
            log.info("sending the inventory (changed: %s)", changed)
        return inventory

    def publish_health(self) -> None:
        self._health.publish_spool(self._spool.status())

    def run(self, stop: threading.Event) -> None:
        """Cycle every interval until `stop` is set; sends in between, never past a stop."""
        interval = self._timing.interval_seconds
        next_cycle = self._clock.monotonic()
        while not stop.is_set():
            now = self._clock.monotonic()
            if now >= next_cycle:
                self._guarded(self.cycle)
                next_cycle += interval
                if next_cycle <= now:  # the host was suspended or very busy: no catch-up burst
                    next_cycle = now + interval
            wake = self._send_until(next_cycle, stop)
            stop.wait(max(0.0, wake - self._clock.monotonic()))
        log.info("stopped; unsent reports stay in the spool for the next start")

    def _send_until(self, next_cycle: float, stop: threading.Event) -> float:
        """Send what is due before the next cycle; returns when the loop should wake."""
        send = functools.partial(
            self._shipper.send_due, deadline=next_cycle, should_stop=stop.is_set
        )
        result = self._guarded(send)
        self._guarded(self.publish_health)
        retry_at = self._shipper.next_attempt_at
        if result is not None and result.pending and retry_at > self._clock.monotonic():
            return min(next_cycle, retry_at)
        return next_cycle

    @staticmethod
    def _guarded(step: Callable[[], T]) -> T | None:
        # A full or failing disk must not kill the agent: log, and try again next interval.
        try:
            return step()
        except SpoolError as exc:
            log.error("spool error: %s", exc)
            return None
