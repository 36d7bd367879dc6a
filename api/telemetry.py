"""opsgraph's own Prometheus metrics, on a registry per app (never the global one)."""

from __future__ import annotations

import time
from typing import Any, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from cmdb.store import GraphStore


class Telemetry:
    """The server's health series; `registry` is what `/metrics` exposes."""

    def __init__(self, version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reports = Counter(
            "opsgraph_reports_total", "Agent reports received, by outcome.",
            ["outcome"], registry=self.registry,
        )
        self.report_seconds = Histogram(
            "opsgraph_report_seconds", "Time to accept one agent report.",
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.incident_changes = Counter(
            "opsgraph_incident_changes_total", "Incidents opened or resolved by intake.",
            registry=self.registry,
        )
        info = Gauge("opsgraph_build_info", "opsgraph version.", ["version"],
                     registry=self.registry)
        info.labels(version=version).set(1)
        self._intake_and_store()

    def _intake_and_store(self) -> None:
        """Intake by route (`api.overload`), events, rule evaluation and store calls."""
        latency = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
        self.intake_requests = Counter(
            "opsgraph_intake_requests_total", "Intake requests, by route and status class.",
            ["route", "code"], registry=self.registry)
        self.intake_seconds = Histogram(
            "opsgraph_intake_seconds", "Intake request latency, by route.", ["route"],
            registry=self.registry, buckets=latency)
        self.intake_in_flight = Gauge(
            "opsgraph_intake_in_flight", "Intake requests being handled now.",
            registry=self.registry)
        self.intake_overloaded = Counter(
            "opsgraph_intake_overloaded_total",
            "Intake requests answered 503 because too many were in flight.", ["route"],
            registry=self.registry)
        self.events = Counter(
            "opsgraph_events_total", "Alerts and events received, by source and outcome.",
            ["source", "outcome"], registry=self.registry)
        self.rule_seconds = Histogram(
            "opsgraph_rule_evaluation_seconds", "Time to evaluate the rules on one payload.",
            ["source"], registry=self.registry, buckets=latency)
        self.store_seconds = Histogram(
            "opsgraph_store_seconds", "Store call latency, by operation.", ["operation"],
            registry=self.registry, buckets=latency)

    def evaluated(self, source: str, seconds: float) -> None:
        self.rule_seconds.labels(source=source).observe(seconds)


class TimedStore:
    """A `GraphStore` that times every call into `histogram` by method name (a bounded
    label set: the protocol's methods). Everything else passes through."""

    def __init__(self, store: GraphStore, histogram: Histogram) -> None:
        self._store, self._histogram = store, histogram

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if name.startswith("_") or not callable(target):
            return target
        child = self._histogram.labels(operation=name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return target(*args, **kwargs)
            finally:
                child.observe(time.perf_counter() - started)

        setattr(self, name, timed)  # later look-ups skip __getattr__
        return timed


def timed_store(store: GraphStore, telemetry: Telemetry) -> GraphStore:
    return cast(GraphStore, TimedStore(store, telemetry.store_seconds))
