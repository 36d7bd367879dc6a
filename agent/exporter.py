"""Optional `/metrics` listener: the latest host samples and the agent's own health.

It uses its own `CollectorRegistry` (never prometheus_client's global one) and serves
what the loop last collected, so a scrape costs no probing and disturbs no rates.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agent.health import AgentHealth
from agent.probes.catalog import MetricSpec, Sample

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from agent.settings import ListenAddress

PREFIX = "opsgraph_"
_UNIT_SUFFIX = {
    "percent": "_percent", "bytes": "_bytes", "bytes_per_second": "_bytes_per_second",
    "seconds": "_seconds", "per_second": "_per_second", "celsius": "_celsius",
    "rpm": "_rpm", "ratio": "_ratio", "count": "", "load": "",
}


def prometheus_name(spec: MetricSpec) -> str:
    """`host.filesystem.free` (bytes) -> `opsgraph_host_filesystem_free_bytes`."""
    base = PREFIX + spec.name.replace(".", "_")
    suffix = _UNIT_SUFFIX[spec.unit]
    return base if base.endswith(suffix) else base + suffix


def host_families(samples: tuple[Sample, ...]) -> list[Metric]:
    """One gauge family per declared metric, one series per label set."""
    families: dict[str, GaugeMetricFamily] = {}
    for sample in samples:
        spec = sample.spec
        family = families.get(spec.name)
        if family is None:
            family = GaugeMetricFamily(
                prometheus_name(spec), spec.description, labels=list(spec.label_names)
            )
            families[spec.name] = family
        family.add_metric([sample.labels.get(name, "") for name in spec.label_names], sample.value)
    return list(families.values())


class AgentCollector(Collector):
    """Turns an `AgentHealth` snapshot into Prometheus families at scrape time."""

    def __init__(self, health: AgentHealth, agent_id: str, version: str) -> None:
        self._health = health
        self._agent_id = agent_id
        self._version = version

    def collect(self) -> Iterator[Metric]:
        snap = self._health.snapshot()
        yield from host_families(snap.samples)
        info = GaugeMetricFamily(
            "opsgraph_agent_info", "Agent identity", labels=["agent_id", "version"]
        )
        info.add_metric([self._agent_id, self._version], 1.0)
        yield info
        yield GaugeMetricFamily(
            "opsgraph_agent_spool_reports", "Reports waiting in the spool", value=snap.spool_depth
        )
        yield GaugeMetricFamily(
            "opsgraph_agent_spool_bytes", "Compressed size of spooled reports",
            value=snap.spool_bytes,
        )
        yield GaugeMetricFamily(
            "opsgraph_agent_dead_letter_reports", "Reports the collector refused as malformed",
            value=snap.dead_letters,
        )
        yield from self._counters(snap.send_failures, snap.dropped_reports,
                                  snap.delivered_reports, snap.probe_failures)
        if snap.last_success_at is not None:
            yield GaugeMetricFamily(
                "opsgraph_agent_last_successful_send_timestamp_seconds",
                "Unix time of the last report the collector accepted",
                value=snap.last_success_at,
            )

    @staticmethod
    def _counters(failures: int, dropped: int, delivered: int, probes: int) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "opsgraph_agent_send_failures", "Send attempts without a 2xx answer", value=failures
        )
        yield CounterMetricFamily(
            "opsgraph_agent_dropped_reports", "Reports dropped because the spool was full/old",
            value=dropped,
        )
        yield CounterMetricFamily(
            "opsgraph_agent_delivered_reports", "Reports the collector accepted", value=delivered
        )
        yield CounterMetricFamily(
            "opsgraph_agent_probe_failures", "Probe runs that raised", value=probes
        )


class MetricsExporter:
    """The HTTP listener; `start()` binds (raising OSError if the port is taken)."""

    def __init__(self, listen: ListenAddress, collector: AgentCollector) -> None:
        self._listen = listen
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0)."""
        if self._server is None:
            raise RuntimeError("exporter not started")
        return int(self._server.server_port)

    def start(self) -> None:
        host = self._listen.host or "0.0.0.0"  # noqa: S104 - ":PORT" asks for every interface
        self._server, self._thread = start_http_server(
            self._listen.port, host, registry=self.registry
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
