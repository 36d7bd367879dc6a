"""`PsutilSource`: the real `HostSource`, adapting psutil's platform-specific tuples."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import psutil

from agent.probes.source import (
    Battery,
    CpuTimes,
    DiskCounters,
    DiskUsage,
    MemoryUsage,
    NicAddress,
    NicCounters,
    NicStats,
    Partition,
    SensorReading,
    SwapUsage,
)

_FAMILIES = {psutil.AF_LINK: "mac", socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}


def _cpu_times(times: Any) -> CpuTimes:
    fields: dict[str, float] = times._asdict()
    # guest time is already counted in user/nice on Linux; psutil's cpu_percent does the same.
    total = sum(fields.values()) - fields.get("guest", 0.0) - fields.get("guest_nice", 0.0)
    return CpuTimes(
        total=total,
        idle=fields.get("idle", 0.0),
        iowait=fields.get("iowait", 0.0),
        steal=fields.get("steal", 0.0),
    )


class PsutilSource:
    """Reads the running host through psutil.

    `root` points psutil at another `/proc` (an agent in a container watching its host
    through `/host/proc`); it is a process-wide psutil setting, so set it once in `main()`.
    """

    def __init__(self, root: Path = Path("/")) -> None:
        if root != Path("/") and psutil.LINUX:
            psutil.PROCFS_PATH = str(root / "proc")

    def cpu_times(self) -> CpuTimes:
        return _cpu_times(psutil.cpu_times())

    def cpu_times_percpu(self) -> list[CpuTimes]:
        return [_cpu_times(core) for core in psutil.cpu_times(percpu=True)]

    def cpu_count(self, logical: bool) -> int | None:
        return psutil.cpu_count(logical=logical)

    def load_average(self) -> tuple[float, float, float]:
        return psutil.getloadavg()

    def virtual_memory(self) -> MemoryUsage:
        memory = psutil.virtual_memory()
        return MemoryUsage(memory.total, memory.available, memory.percent)

    def swap_memory(self) -> SwapUsage:
        swap = psutil.swap_memory()
        return SwapUsage(swap.total, swap.used, swap.percent)

    def disk_partitions(self) -> list[Partition]:
        return [
            Partition(part.device, part.mountpoint, part.fstype)
            for part in psutil.disk_partitions(all=False)
        ]

    def disk_usage(self, mountpoint: str) -> DiskUsage:
        usage = psutil.disk_usage(mountpoint)
        return DiskUsage(usage.total, usage.used, usage.free, usage.percent)

    def disk_io_counters(self) -> dict[str, DiskCounters]:
        counters = psutil.disk_io_counters(perdisk=True, nowrap=False) or {}
        return {
            name: DiskCounters(
                io.read_bytes, io.write_bytes, io.read_count, io.write_count,
                getattr(io, "busy_time", None),
            )
            for name, io in counters.items()
        }

    def net_io_counters(self) -> dict[str, NicCounters]:
        counters = psutil.net_io_counters(pernic=True, nowrap=False)
        return {name: NicCounters(*io) for name, io in counters.items()}

    def net_if_addrs(self) -> dict[str, list[NicAddress]]:
        return {
            name: [
                NicAddress(_FAMILIES[addr.family], addr.address)
                for addr in addrs
                if addr.family in _FAMILIES and addr.address
            ]
            for name, addrs in psutil.net_if_addrs().items()
        }

    def net_if_stats(self) -> dict[str, NicStats]:
        return {
            name: NicStats(stats.isup, stats.speed)
            for name, stats in psutil.net_if_stats().items()
        }

    def boot_time(self) -> float:
        return psutil.boot_time()

    def process_count(self) -> int:
        return len(psutil.pids())

    def user_count(self) -> int:
        return len(psutil.users())

    def temperatures(self) -> list[SensorReading]:
        read = getattr(psutil, "sensors_temperatures", None)
        chips: dict[str, list[Any]] = read() if read is not None else {}
        return [
            SensorReading(chip, entry.label, entry.current)
            for chip, entries in chips.items()
            for entry in entries
        ]

    def fans(self) -> list[SensorReading]:
        read = getattr(psutil, "sensors_fans", None)
        chips: dict[str, list[Any]] = read() if read is not None else {}
        return [
            SensorReading(chip, entry.label, entry.current)
            for chip, entries in chips.items()
            for entry in entries
        ]

    def battery(self) -> Battery | None:
        read = getattr(psutil, "sensors_battery", None)
        battery = read() if read is not None else None
        if battery is None:
            return None
        # psutil reports "unlimited" (-2) and "unknown" (-1) as negative sentinels.
        seconds = int(battery.secsleft)
        return Battery(
            percent=battery.percent,
            power_plugged=battery.power_plugged,
            seconds_left=seconds if seconds >= 0 else None,
        )
