"""CPU time per agent collection cycle and RSS after 20 cycles; prints JSON.

A cycle is what `opsgraph-agent run` does every interval: run every probe, build the
report (the first one carries the inventory), gzip it, write it to the SQLite spool and
hand it to the shipper, whose transport here answers 202 without a network.

    .venv/bin/python bench/agent_cycle.py [--cycles 20] [--interval 0.2]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.exporter import MetricsExporter
    from agent.health import AgentHealth
    from agent.transport import HttpAnswer


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


class AcceptingTransport:
    """Answers every report like the collector does, without a network."""

    def post(self, body: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        from agent.transport import HttpAnswer

        return HttpAnswer(202, None, b'{"duplicate": false}')

    def close(self) -> None:
        pass


def _start_exporter(health: AgentHealth) -> MetricsExporter:
    from agent.exporter import AgentCollector, MetricsExporter
    from agent.settings import ListenAddress

    exporter = MetricsExporter(ListenAddress("127.0.0.1", 0),
                               AgentCollector(health, "bench", "0"))
    exporter.start()
    return exporter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--full", action="store_true",
                        help="also start the /metrics listener and load the TLS trust store")
    args = parser.parse_args()
    start_cpu = _cpu_seconds()

    from agent.backoff import Backoff
    from agent.clock import SystemClock
    from agent.health import AgentHealth
    from agent.inventory import InventoryReader
    from agent.probes.collector import HostCollector, default_probes
    from agent.probes.psutil_source import PsutilSource
    from agent.report import agent_version
    from agent.runner import AgentLoop, LoopTiming
    from agent.shipper import Shipper
    from agent.spool import Spool
    from agent.transport import HttpTransport  # imported by `run`: count its memory

    agent_version()  # the CLI reads it at start-up for the User-Agent header
    if args.full:
        HttpTransport("https://collector.invalid/v1/reports", 10.0)  # loads the CA bundle
    import_cpu = _cpu_seconds() - start_cpu
    with tempfile.TemporaryDirectory() as tmp:
        clock = SystemClock()
        source = PsutilSource()
        spool = Spool(Path(tmp) / "spool.db", clock)
        shipper = Shipper(spool, AcceptingTransport(), "bench-token", clock, Backoff())
        health = AgentHealth()
        loop = AgentLoop("bench", HostCollector(default_probes(source, clock)),
                         InventoryReader(source), spool, shipper, clock, LoopTiming(), health)
        exporter = _start_exporter(health) if args.full else None
        cycle_ms: list[float] = []
        samples = 0
        for _ in range(args.cycles):
            before = _cpu_seconds()
            result = loop.cycle()
            shipper.send_due()
            cycle_ms.append((_cpu_seconds() - before) * 1000)
            samples = result.samples
            time.sleep(args.interval)
        spool.close()
        if exporter is not None:
            exporter.stop()
    steady = sorted(cycle_ms[1:])
    print(json.dumps({
        "cycles": args.cycles,
        "full": args.full,
        "import_cpu_ms": round(import_cpu * 1000, 1),
        "first_cycle_cpu_ms": round(cycle_ms[0], 2),
        "cycle_cpu_ms_mean": round(sum(steady) / len(steady), 2),
        "cycle_cpu_ms_median": round(steady[len(steady) // 2], 2),
        "cycle_cpu_ms_max": round(steady[-1], 2),
        "samples_per_cycle": samples,
        "rss_mib_after_cycles": round(_rss_mib(), 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": sys.version.split()[0],
    }, indent=2))


if __name__ == "__main__":
    main()
