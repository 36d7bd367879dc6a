"""CPU utilization (total and per core), CPU count and load averages."""

from __future__ import annotations

from agent.probes import catalog
from agent.probes.catalog import Sample
from agent.probes.rates import BOOT_TIME_TOLERANCE_SECONDS
from agent.probes.source import CpuTimes, HostSource


def _share(part: float, whole: float) -> float:
    # Idle and iowait counters can step back a little on some kernels: clamp to 0..100.
    return min(100.0, max(0.0, 100.0 * part / whole))


def utilization(before: CpuTimes, after: CpuTimes, cpu: str) -> list[Sample]:
    """Busy, iowait and steal percentages between two reads; nothing if time did not advance."""
    elapsed = after.total - before.total
    if elapsed <= 0:
        return []
    idle = (after.idle - before.idle) + (after.iowait - before.iowait)
    samples = [catalog.CPU_UTILIZATION.sample(_share(elapsed - idle, elapsed), cpu=cpu)]
    if cpu == "total":
        samples.append(
            catalog.CPU_IOWAIT.sample(_share(after.iowait - before.iowait, elapsed), cpu=cpu)
        )
        samples.append(
            catalog.CPU_STEAL.sample(_share(after.steal - before.steal, elapsed), cpu=cpu)
        )
    return samples


class CpuProbe:
    """Utilization from CPU time deltas (so the first read yields none), count and load."""

    name = "cpu"

    def __init__(self, source: HostSource) -> None:
        self._source = source
        self._total: CpuTimes | None = None
        self._cores: list[CpuTimes] = []
        self._boot_time: float | None = None

    def collect(self) -> list[Sample]:
        boot_time = self._source.boot_time()
        total = self._source.cpu_times()
        cores = self._source.cpu_times_percpu()
        if self._boot_time is not None and (
            abs(boot_time - self._boot_time) > BOOT_TIME_TOLERANCE_SECONDS
        ):
            self._total, self._cores = None, []
        samples: list[Sample] = []
        if self._total is not None:
            samples.extend(utilization(self._total, total, "total"))
        if len(self._cores) == len(cores):  # a CPU went on/offline: restart per-core rates
            for index, (before, after) in enumerate(zip(self._cores, cores, strict=True)):
                samples.extend(utilization(before, after, str(index)))
        self._total, self._cores, self._boot_time = total, cores, boot_time
        count = self._source.cpu_count(logical=True)
        if count:
            samples.append(catalog.CPU_COUNT.sample(count))
        load = self._source.load_average()
        samples.append(catalog.LOAD_1M.sample(load[0]))
        samples.append(catalog.LOAD_5M.sample(load[1]))
        samples.append(catalog.LOAD_15M.sample(load[2]))
        return samples
