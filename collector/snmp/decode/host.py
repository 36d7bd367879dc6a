"""HOST-RESOURCES-MIB (RFC 2790): uptime, processors, memory and file systems.

Sample names match the ones opsgraph-agent sends (docs/report-format.md), so a server
seen by SNMP and by its agent is described the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.snmp import oids
from collector.snmp.model import Sample, value_sample
from collector.snmp.snapshot import Index, Snapshot

_STORAGE_RAM = 2
_STORAGE_VIRTUAL_MEMORY = 3
_STORAGE_DISKS = frozenset({4, 5, 9, 10})  # fixedDisk, removableDisk, flashMemory, networkDisk


@dataclass(frozen=True, slots=True)
class Storage:
    """One hrStorageEntry in bytes."""

    index: Index
    kind: int
    description: str
    size_bytes: int
    used_bytes: int

    @property
    def used_percent(self) -> float | None:
        if self.size_bytes <= 0:
            return None
        return round(100.0 * self.used_bytes / self.size_bytes, 2)


def decode_storage(snapshot: Snapshot) -> list[Storage]:
    types = snapshot.object_id_column(oids.HR_STORAGE_TYPE)
    descriptions = snapshot.text_column(oids.HR_STORAGE_DESCR)
    units = snapshot.integer_column(oids.HR_STORAGE_ALLOCATION_UNITS)
    sizes = snapshot.integer_column(oids.HR_STORAGE_SIZE)
    used = snapshot.integer_column(oids.HR_STORAGE_USED)
    prefix = oids.HR_STORAGE_TYPES
    storages = []
    for index, size in sizes.items():
        storage_type = types.get(index, ())
        kind = storage_type[-1] if storage_type[: len(prefix)] == prefix else 1
        unit = units.get(index, 0)
        storages.append(Storage(
            index=index,
            kind=kind,
            description=descriptions.get(index, ""),
            size_bytes=_unsigned(size) * unit,
            used_bytes=_unsigned(used.get(index, 0)) * unit,
        ))
    return storages


def _unsigned(value: int) -> int:
    # hrStorageSize/Used are Integer32: agents wrap large disks into negative numbers.
    return value + 2**32 if value < 0 else value


def storage_samples(storages: list[Storage]) -> list[Sample]:
    """``host.memory.used`` (percent) and ``host.memory.available`` (bytes) from the
    RAM entry, ``host.swap.used`` from a virtual-memory entry called swap, and
    ``host.filesystem.used``/``free`` per disk, labelled ``mountpoint``."""
    samples: list[Sample] = []
    for storage in storages:
        percent = storage.used_percent
        if percent is None:
            continue
        free = storage.size_bytes - storage.used_bytes
        if storage.kind == _STORAGE_RAM:
            samples.append(value_sample("host.memory.used", percent, "percent"))
            samples.append(value_sample("host.memory.available", free, "bytes"))
        elif storage.kind == _STORAGE_VIRTUAL_MEMORY and "swap" in storage.description.lower():
            samples.append(value_sample("host.swap.used", percent, "percent"))
        elif storage.kind in _STORAGE_DISKS:
            labels = {"mountpoint": storage.description}
            samples.append(value_sample("host.filesystem.used", percent, "percent", labels))
            samples.append(value_sample("host.filesystem.free", free, "bytes", labels))
    return samples


def processor_samples(snapshot: Snapshot) -> list[Sample]:
    """``host.cpu.utilization`` per processor (``cpu`` = 0, 1, ... in hrDeviceIndex
    order) and ``cpu="total"`` as their mean; hrProcessorLoad is a one-minute average."""
    loads = [load for _, load in sorted(snapshot.integer_column(oids.HR_PROCESSOR_LOAD).items())]
    if not loads:
        return []
    samples = [
        value_sample("host.cpu.utilization", load, "percent", {"cpu": str(position)})
        for position, load in enumerate(loads)
    ]
    total = round(sum(loads) / len(loads), 2)
    samples.append(value_sample("host.cpu.utilization", total, "percent", {"cpu": "total"}))
    samples.append(value_sample("host.cpu.count", len(loads), "count"))
    return samples


def host_system_samples(snapshot: Snapshot) -> list[Sample]:
    """``host.uptime`` (seconds), ``host.users`` and ``host.processes``."""
    samples = []
    uptime = snapshot.integer(oids.HR_SYSTEM_UPTIME)
    if uptime is not None:
        samples.append(value_sample("host.uptime", uptime / 100.0, "seconds"))
    for name, oid in (("host.users", oids.HR_SYSTEM_NUM_USERS),
                      ("host.processes", oids.HR_SYSTEM_PROCESSES)):
        value = snapshot.integer(oid)
        if value is not None:
            samples.append(value_sample(name, value, "count"))
    return samples


def memory_bytes(snapshot: Snapshot) -> int | None:
    """hrMemorySize (KiB) in bytes."""
    kib = snapshot.integer(oids.HR_MEMORY_SIZE)
    return None if kib is None else kib * 1024
