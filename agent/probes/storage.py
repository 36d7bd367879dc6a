"""Filesystem usage per mountpoint and I/O rates per whole disk."""

from __future__ import annotations

import logging
from pathlib import Path

from agent.clock import Clock
from agent.probes import catalog
from agent.probes.catalog import Sample
from agent.probes.rates import CounterRates
from agent.probes.source import DiskCounters, HostSource, Partition

log = logging.getLogger(__name__)

# Read-only images and in-memory filesystems say nothing about disk health.
IGNORED_FSTYPES = frozenset(
    {"squashfs", "iso9660", "udf", "overlay", "tmpfs", "devtmpfs", "ramfs", "nsfs", "autofs"}
)
# Block devices that are not storage: loop images, RAM disks, compressed-RAM swap, floppies.
IGNORED_DISK_PREFIXES = ("loop", "ram", "zram", "fd")


def local_filesystems(partitions: list[Partition]) -> list[Partition]:
    """Real filesystems, one per device (bind mounts repeat a device: keep the shortest path)."""
    by_device: dict[str, Partition] = {}
    for part in partitions:
        if part.fstype.lower() in IGNORED_FSTYPES:
            continue
        kept = by_device.get(part.device)
        if kept is None or len(part.mountpoint) < len(kept.mountpoint):
            by_device[part.device] = part
    return sorted(by_device.values(), key=lambda part: part.mountpoint)


class FilesystemProbe:
    """Used percent, free and total bytes of each local filesystem."""

    name = "filesystem"

    def __init__(self, source: HostSource) -> None:
        self._source = source

    def collect(self) -> list[Sample]:
        samples: list[Sample] = []
        for part in local_filesystems(self._source.disk_partitions()):
            try:
                usage = self._source.disk_usage(part.mountpoint)
            except OSError as exc:  # unmounted meanwhile or not readable by this user
                log.debug("skipping %s: %s", part.mountpoint, exc)
                continue
            where = part.mountpoint
            samples.append(catalog.FILESYSTEM_USED.sample(usage.percent, mountpoint=where))
            samples.append(catalog.FILESYSTEM_FREE.sample(usage.free, mountpoint=where))
            samples.append(catalog.FILESYSTEM_TOTAL.sample(usage.total, mountpoint=where))
        return samples


def whole_disks(counters: dict[str, DiskCounters], root: Path) -> dict[str, DiskCounters]:
    """Drop partitions (counted in their disk already) and non-storage devices.

    On Linux `<root>/sys/block` lists whole disks only; elsewhere every device is kept.
    """
    block = root / "sys" / "block"
    try:
        disks = {entry.name for entry in block.iterdir()}
    except OSError:
        disks = None
    return {
        name: io
        for name, io in counters.items()
        if not name.startswith(IGNORED_DISK_PREFIXES) and (disks is None or name in disks)
    }


class DiskIoProbe:
    """Read/write bytes and operations per second and busy percent, per whole disk."""

    name = "disk_io"

    def __init__(self, source: HostSource, clock: Clock, root: Path = Path("/")) -> None:
        self._source = source
        self._clock = clock
        self._root = root
        self._rates = CounterRates()

    def collect(self) -> list[Sample]:
        self._rates.begin(self._source.boot_time())
        now = self._clock.monotonic()
        samples: list[Sample] = []
        try:
            disks = whole_disks(self._source.disk_io_counters(), self._root)
            for device, io in sorted(disks.items()):
                samples.extend(self._disk(device, io, now))
        finally:
            self._rates.end()
        return samples

    def _disk(self, device: str, io: DiskCounters, now: float) -> list[Sample]:
        pairs = [
            (catalog.DISK_READ, io.read_bytes),
            (catalog.DISK_WRITE, io.write_bytes),
            (catalog.DISK_READ_OPS, io.read_count),
            (catalog.DISK_WRITE_OPS, io.write_count),
        ]
        samples: list[Sample] = []
        for spec, value in pairs:
            rate = self._rates.rate((spec.name, device), value, now)
            if rate is not None:
                samples.append(spec.sample(rate, device=device))
        if io.busy_ms is not None:
            busy = self._rates.rate((catalog.DISK_BUSY.name, device), io.busy_ms, now)
            if busy is not None:  # ms busy per second -> percent of the interval
                samples.append(catalog.DISK_BUSY.sample(min(100.0, busy / 10.0), device=device))
        return samples
