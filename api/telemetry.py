"""opsgraph's own Prometheus metrics, on a registry per app (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
