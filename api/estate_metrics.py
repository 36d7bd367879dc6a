"""The estate on `/metrics`: CIs by class and status, open incidents by priority and
the notification outbox, queried from the store at most every `interval` seconds
whatever the scrape rate, so many scrapers (or a short scrape interval) cost the
store nothing more.

Label sets are bounded by construction: classes come from `cmdb.classes`, statuses
and priorities are fixed; every combination is always exported (zeros included), so
series neither appear nor vanish as the estate changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from cmdb.classes import CLASSES
from cmdb.errors import CMDBError
from cmdb.store import EstateCounts, GraphStore
from rules.notify.state import DeliveryStore

log = logging.getLogger("opsgraph.metrics")
STATUSES = ("active", "stale", "retired")
PRIORITIES = (1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    counts: EstateCounts
    finished: int | None  # outbox entries delivered or discarded; None: unknown
    seconds: float


class EstateCollector(Collector):
    """A Prometheus collector over `store()`, cached for `interval` seconds."""

    def __init__(self, store: Callable[[], GraphStore], interval: float,
                 delivery: Callable[[], DeliveryStore] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store, self._interval, self._monotonic = store, interval, monotonic
        self._open_delivery = delivery
        self._delivery: DeliveryStore | None = None
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._taken_at = float("-inf")
        self._up = 0.0

    def describe(self) -> Iterable[GaugeMetricFamily]:
        # Without describe() the registry would collect (query the store) on register.
        return self._families(None)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._lock:
            if self._monotonic() - self._taken_at >= self._interval:
                self._refresh()
            snapshot = self._snapshot
        return self._families(snapshot)

    def close(self) -> None:
        if self._delivery is not None:
            self._delivery.close()
            self._delivery = None

    def _refresh(self) -> None:
        started = time.perf_counter()
        try:
            counts = self._store().estate_counts()
            finished = self._finished()
        except CMDBError as exc:  # answered as opsgraph_estate_up 0, last figures kept
            log.warning("estate metrics: store query failed: %s", exc)
            self._up = 0.0
            return
        self._snapshot = _Snapshot(counts, finished, time.perf_counter() - started)
        self._taken_at, self._up = self._monotonic(), 1.0

    def _finished(self) -> int | None:
        if self._open_delivery is None:
            return None
        if self._delivery is None:
            self._delivery = self._open_delivery()
        counts = self._delivery.counts()
        return int(counts.delivered + counts.discarded)

    def _families(self, snapshot: _Snapshot | None) -> list[GaugeMetricFamily]:
        cis = GaugeMetricFamily("opsgraph_cis", "Configuration items by class and status.",
                                labels=["ci_class", "status"])
        incidents = GaugeMetricFamily("opsgraph_open_incidents",
                                      "Open incidents by priority.", labels=["priority"])
        queued = GaugeMetricFamily("opsgraph_outbox_entries",
                                   "Notifications ever queued in the outbox.")
        depth = GaugeMetricFamily("opsgraph_outbox_depth",
                                  "Notifications queued and not yet delivered or discarded.")
        up = GaugeMetricFamily("opsgraph_estate_up",
                               "1 when the last estate query answered, else 0.", value=self._up)
        took = GaugeMetricFamily("opsgraph_estate_query_seconds",
                                 "Time the last estate query took.")
        families = [cis, incidents, queued, depth, up, took]
        if snapshot is None:
            return families
        counts = snapshot.counts
        for name in sorted(CLASSES):
            for status in STATUSES:
                cis.add_metric([name, status], counts.cis.get((name, status), 0))
        for priority in PRIORITIES:
            incidents.add_metric([str(priority)], counts.open_incidents.get(priority, 0))
        queued.add_metric([], counts.outbox_entries)
        if snapshot.finished is not None:
            depth.add_metric([], max(0, counts.outbox_entries - snapshot.finished))
        took.add_metric([], snapshot.seconds)
        return families
