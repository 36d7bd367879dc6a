"""Traffic, packet, error and drop rates per network interface."""

from __future__ import annotations

from collections.abc import Iterable

from agent.clock import Clock
from agent.interfaces import DEFAULT_EXCLUDED_INTERFACES, interface_included
from agent.probes import catalog
from agent.probes.catalog import MetricSpec, Sample
from agent.probes.rates import CounterRates
from agent.probes.source import HostSource, NicCounters


def _counters(io: NicCounters) -> list[tuple[MetricSpec, int]]:
    return [
        (catalog.NET_RECEIVE, io.bytes_recv),
        (catalog.NET_TRANSMIT, io.bytes_sent),
        (catalog.NET_RECEIVE_PACKETS, io.packets_recv),
        (catalog.NET_TRANSMIT_PACKETS, io.packets_sent),
        (catalog.NET_RECEIVE_ERRORS, io.errin),
        (catalog.NET_TRANSMIT_ERRORS, io.errout),
        (catalog.NET_RECEIVE_DROPS, io.dropin),
        (catalog.NET_TRANSMIT_DROPS, io.dropout),
    ]


class NetworkProbe:
    """Per-second rates of each reported interface's counters (none on the first read)."""

    name = "network"

    def __init__(
        self,
        source: HostSource,
        clock: Clock,
        excluded: Iterable[str] = DEFAULT_EXCLUDED_INTERFACES,
    ) -> None:
        self._source = source
        self._clock = clock
        self._excluded = tuple(excluded)
        self._rates = CounterRates()

    def collect(self) -> list[Sample]:
        self._rates.begin(self._source.boot_time())
        now = self._clock.monotonic()
        samples: list[Sample] = []
        try:
            for nic, io in sorted(self._source.net_io_counters().items()):
                if not interface_included(nic, self._excluded):
                    continue
                for spec, value in _counters(io):
                    rate = self._rates.rate((spec.name, nic), value, now)
                    if rate is not None:
                        samples.append(spec.sample(rate, interface=nic))
        finally:
            self._rates.end()
        return samples
