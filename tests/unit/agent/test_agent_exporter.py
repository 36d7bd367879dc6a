from __future__ import annotations

import urllib.request

import prometheus_client

from agent.exporter import AgentCollector, MetricsExporter, prometheus_name
from agent.health import AgentHealth
from agent.probes import catalog
from agent.settings import ListenAddress
from agent.spool import SpoolStatus


def test_prometheus_names_carry_the_unit() -> None:
    assert prometheus_name(catalog.FILESYSTEM_FREE) == "opsgraph_host_filesystem_free_bytes"
    assert prometheus_name(catalog.UPTIME) == "opsgraph_host_uptime_seconds"
    assert prometheus_name(catalog.PROCESSES) == "opsgraph_host_processes"
    assert prometheus_name(catalog.DISK_READ) == "opsgraph_host_disk_read_bytes_per_second"


def test_metrics_endpoint_serves_host_metrics_and_agent_health() -> None:
    health = AgentHealth()
    health.publish_samples(
        [catalog.MEMORY_USED.sample(52.0), catalog.FILESYSTEM_USED.sample(71.2, mountpoint="/"),
         catalog.FILESYSTEM_USED.sample(9.5, mountpoint="/data")],
        failures=1,
    )
    health.publish_spool(SpoolStatus(
        depth=3, size_bytes=4096, inventory_reports=1, oldest_created_at=1.0, dead_letters=1,
        dropped_reports=4, send_failures=2, delivered_reports=10,
        last_success_at=1_795_000_000.0, last_attempt_at=None, last_error=None,
    ))
    exporter = MetricsExporter(ListenAddress("127.0.0.1", 0),
                               AgentCollector(health, "pc-0042", "0.1.0"))
    exporter.start()
    try:
        url = f"http://127.0.0.1:{exporter.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            text = answer.read().decode()
    finally:
        exporter.stop()
    lines = set(text.splitlines())
    expected = {
        "opsgraph_host_memory_used_percent 52.0",
        'opsgraph_host_filesystem_used_percent{mountpoint="/data"} 9.5',
        'opsgraph_agent_info{agent_id="pc-0042",version="0.1.0"} 1.0',
        "opsgraph_agent_spool_reports 3.0",
        "opsgraph_agent_spool_bytes 4096.0",
        "opsgraph_agent_send_failures_total 2.0",
        "opsgraph_agent_dropped_reports_total 4.0",
        "opsgraph_agent_dead_letter_reports 1.0",
        "opsgraph_agent_probe_failures_total 1.0",
        "opsgraph_agent_last_successful_send_timestamp_seconds 1.795e+09",
    }
    assert expected <= lines, expected - lines


def test_the_global_registry_is_left_alone() -> None:
    exporter = MetricsExporter(ListenAddress("127.0.0.1", 0),
                               AgentCollector(AgentHealth(), "a", "0"))
    assert exporter.registry is not prometheus_client.REGISTRY
    names = {metric.name for metric in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith("opsgraph_") for name in names)
