"""Every metric the agent can send, declared once with its stable name, unit and labels.

Names and units follow docs/report-format.md; probes only emit samples of these specs,
so the report, the `/metrics` listener and the tests all read one list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

Unit = Literal[
    "percent", "bytes", "bytes_per_second", "seconds", "count",
    "per_second", "celsius", "rpm", "ratio", "load",
]
DECLARED_UNITS: frozenset[str] = frozenset(get_args(Unit))


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A metric's stable name, declared unit, meaning and label names."""

    name: str
    unit: Unit
    description: str
    label_names: tuple[str, ...] = ()

    def sample(self, value: float, **labels: str) -> Sample:
        """One observation of this metric."""
        return Sample(self, float(value), labels)


@dataclass(frozen=True, slots=True)
class Sample:
    """One observed value of a declared metric."""

    spec: MetricSpec
    value: float
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def unit(self) -> Unit:
        return self.spec.unit


def _spec(name: str, unit: Unit, description: str, *labels: str) -> MetricSpec:
    return MetricSpec(name, unit, description, labels)


CPU_UTILIZATION = _spec(
    "host.cpu.utilization", "percent", "CPU time not idle nor waiting for I/O", "cpu"
)
CPU_IOWAIT = _spec("host.cpu.iowait", "percent", "CPU time idle while waiting for I/O", "cpu")
CPU_STEAL = _spec("host.cpu.steal", "percent", "CPU time taken by the hypervisor", "cpu")
CPU_COUNT = _spec("host.cpu.count", "count", "Logical CPUs")
LOAD_1M = _spec("host.load.1m", "load", "Load average over 1 minute")
LOAD_5M = _spec("host.load.5m", "load", "Load average over 5 minutes")
LOAD_15M = _spec("host.load.15m", "load", "Load average over 15 minutes")

MEMORY_USED = _spec("host.memory.used", "percent", "Memory in use (not available)")
MEMORY_AVAILABLE = _spec("host.memory.available", "bytes", "Memory available to programs")
MEMORY_TOTAL = _spec("host.memory.total", "bytes", "Physical memory")
SWAP_USED = _spec("host.swap.used", "percent", "Swap space in use (only when swap exists)")

FILESYSTEM_USED = _spec("host.filesystem.used", "percent", "Filesystem space used", "mountpoint")
FILESYSTEM_FREE = _spec(
    "host.filesystem.free", "bytes", "Filesystem space free for users", "mountpoint"
)
FILESYSTEM_TOTAL = _spec("host.filesystem.total", "bytes", "Filesystem size", "mountpoint")

DISK_READ = _spec("host.disk.read", "bytes_per_second", "Bytes read from a disk", "device")
DISK_WRITE = _spec("host.disk.write", "bytes_per_second", "Bytes written to a disk", "device")
DISK_READ_OPS = _spec("host.disk.read_ops", "per_second", "Read operations", "device")
DISK_WRITE_OPS = _spec("host.disk.write_ops", "per_second", "Write operations", "device")
DISK_BUSY = _spec("host.disk.busy", "percent", "Time the disk had I/O in flight", "device")

NET_RECEIVE = _spec("host.network.receive", "bytes_per_second", "Bytes received", "interface")
NET_TRANSMIT = _spec("host.network.transmit", "bytes_per_second", "Bytes sent", "interface")
NET_RECEIVE_PACKETS = _spec(
    "host.network.receive_packets", "per_second", "Packets received", "interface"
)
NET_TRANSMIT_PACKETS = _spec(
    "host.network.transmit_packets", "per_second", "Packets sent", "interface"
)
NET_RECEIVE_ERRORS = _spec(
    "host.network.receive_errors", "per_second", "Receive errors", "interface"
)
NET_TRANSMIT_ERRORS = _spec(
    "host.network.transmit_errors", "per_second", "Transmit errors", "interface"
)
NET_RECEIVE_DROPS = _spec(
    "host.network.receive_drops", "per_second", "Received packets dropped", "interface"
)
NET_TRANSMIT_DROPS = _spec(
    "host.network.transmit_drops", "per_second", "Outgoing packets dropped", "interface"
)

UPTIME = _spec("host.uptime", "seconds", "Time since boot")
PROCESSES = _spec("host.processes", "count", "Processes")
USERS = _spec("host.users", "count", "Logged-in user sessions")

TEMPERATURE = _spec("host.sensor.temperature", "celsius", "Sensor temperature", "chip", "sensor")
FAN_SPEED = _spec("host.sensor.fan", "rpm", "Fan speed", "chip", "sensor")
BATTERY_CHARGE = _spec("host.battery.charge", "percent", "Battery charge")
BATTERY_PLUGGED = _spec("host.battery.power_plugged", "ratio", "1 on mains power, 0 on battery")
BATTERY_TIME_LEFT = _spec("host.battery.time_left", "seconds", "Estimated battery time left")

PRESSURE_SOME = _spec(
    "host.pressure.some", "percent", "Time some tasks stalled on a resource (Linux PSI)",
    "resource", "window",
)
PRESSURE_FULL = _spec(
    "host.pressure.full", "percent", "Time all tasks stalled on a resource (Linux PSI)",
    "resource", "window",
)
FILE_HANDLES_USED = _spec("host.file_handles.used", "count", "Open file handles")
FILE_HANDLES_MAX = _spec("host.file_handles.max", "count", "File handle limit")

ALL_SPECS: tuple[MetricSpec, ...] = tuple(
    value for value in tuple(globals().values()) if isinstance(value, MetricSpec)
)
