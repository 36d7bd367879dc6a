"""`HostSource`: the psutil-like facade every probe and the inventory read from.

The records are neutral (no psutil named tuples, whose fields differ per platform), so
a test can hand probes a plain fake and `PsutilSource` adapts the real library.
Counters are raw: no wrap correction, so the probes see wraps and resets as they are.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


class CpuTimes(NamedTuple):
    """Cumulative CPU seconds; `total` excludes guest time (already inside user/nice)."""

    total: float
    idle: float
    iowait: float = 0.0
    steal: float = 0.0


class MemoryUsage(NamedTuple):
    total: int
    available: int
    percent: float


class SwapUsage(NamedTuple):
    total: int
    used: int
    percent: float


class Partition(NamedTuple):
    device: str
    mountpoint: str
    fstype: str


class DiskUsage(NamedTuple):
    total: int
    used: int
    free: int
    percent: float


class DiskCounters(NamedTuple):
    """Cumulative I/O of one block device; `busy_ms` is None where the OS has no such counter."""

    read_bytes: int
    write_bytes: int
    read_count: int
    write_count: int
    busy_ms: int | None = None


class NicCounters(NamedTuple):
    bytes_sent: int
    bytes_recv: int
    packets_sent: int
    packets_recv: int
    errin: int
    errout: int
    dropin: int
    dropout: int


class NicAddress(NamedTuple):
    """One address of an interface; `family` is "mac", "ipv4" or "ipv6"."""

    family: str
    address: str


class NicStats(NamedTuple):
    is_up: bool
    speed_mbps: int  # 0 when the OS does not know


class SensorReading(NamedTuple):
    """A temperature (celsius) or fan speed (rpm) reading of one sensor on one chip."""

    chip: str
    label: str
    value: float


class Battery(NamedTuple):
    percent: float
    power_plugged: bool | None
    seconds_left: int | None  # None when unknown or unlimited (on mains)


class HostSource(Protocol):
    """What probes and inventory need from the OS; `PsutilSource` is the real one."""

    def cpu_times(self) -> CpuTimes: ...

    def cpu_times_percpu(self) -> list[CpuTimes]: ...

    def cpu_count(self, logical: bool) -> int | None: ...

    def load_average(self) -> tuple[float, float, float]: ...

    def virtual_memory(self) -> MemoryUsage: ...

    def swap_memory(self) -> SwapUsage: ...

    def disk_partitions(self) -> list[Partition]: ...

    def disk_usage(self, mountpoint: str) -> DiskUsage: ...

    def disk_io_counters(self) -> dict[str, DiskCounters]: ...

    def net_io_counters(self) -> dict[str, NicCounters]: ...

    def net_if_addrs(self) -> dict[str, list[NicAddress]]: ...

    def net_if_stats(self) -> dict[str, NicStats]: ...

    def boot_time(self) -> float: ...

    def process_count(self) -> int: ...

    def user_count(self) -> int: ...

    def temperatures(self) -> list[SensorReading]: ...

    def fans(self) -> list[SensorReading]: ...

    def battery(self) -> Battery | None: ...
