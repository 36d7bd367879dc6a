"""Memory and swap usage."""

from __future__ import annotations

from agent.probes import catalog
from agent.probes.catalog import Sample
from agent.probes.source import HostSource


class MemoryProbe:
    """Memory used/available/total; swap used only when the host has swap."""

    name = "memory"

    def __init__(self, source: HostSource) -> None:
        self._source = source

    def collect(self) -> list[Sample]:
        memory = self._source.virtual_memory()
        samples = [
            catalog.MEMORY_USED.sample(memory.percent),
            catalog.MEMORY_AVAILABLE.sample(memory.available),
            catalog.MEMORY_TOTAL.sample(memory.total),
        ]
        swap = self._source.swap_memory()
        # Without swap a "0 % used" would read as "healthy swap": absent means no swap.
        if swap.total > 0:
            samples.append(catalog.SWAP_USED.sample(swap.percent))
        return samples
