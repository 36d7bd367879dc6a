"""IF-MIB (RFC 2863): ports, their status and traffic counters."""

from __future__ import annotations

from dataclasses import dataclass

from collector.snmp import oids
from collector.snmp.model import Sample, state_sample, value_sample
from collector.snmp.snapshot import Snapshot, format_mac

IF_STATUS: dict[int, str] = {
    1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent",
    7: "lowerLayerDown",
}
IF_TYPE_SOFTWARE_LOOPBACK = 24

# (sample name, 64-bit column, 32-bit fallback column, unit)
_COUNTERS = (
    ("interface.in_octets", oids.IF_HC_IN_OCTETS, oids.IF_IN_OCTETS, "bytes"),
    ("interface.out_octets", oids.IF_HC_OUT_OCTETS, oids.IF_OUT_OCTETS, "bytes"),
    ("interface.in_errors", None, oids.IF_IN_ERRORS, "count"),
    ("interface.out_errors", None, oids.IF_OUT_ERRORS, "count"),
)


@dataclass(frozen=True, slots=True)
class Port:
    """One interface. `name` is ifName, else ifDescr, else ``if<index>``."""

    if_index: int
    name: str
    description: str
    alias: str
    if_type: int | None
    admin_status: str
    oper_status: str
    speed_mbps: int | None
    mac: str | None

    def as_attribute(self) -> dict[str, object]:
        return {
            "if_index": self.if_index, "name": self.name, "description": self.description,
            "alias": self.alias, "admin_status": self.admin_status,
            "oper_status": self.oper_status, "speed_mbps": self.speed_mbps, "mac": self.mac,
        }


def decode_ports(snapshot: Snapshot) -> list[Port]:
    """Every interface any IF-MIB column mentions, ordered by ifIndex."""
    names = snapshot.text_column(oids.IF_NAME)
    descriptions = snapshot.text_column(oids.IF_DESCR)
    aliases = snapshot.text_column(oids.IF_ALIAS)
    types = snapshot.integer_column(oids.IF_TYPE)
    admin = snapshot.integer_column(oids.IF_ADMIN_STATUS)
    oper = snapshot.integer_column(oids.IF_OPER_STATUS)
    speeds = snapshot.integer_column(oids.IF_HIGH_SPEED)
    macs = snapshot.octets_column(oids.IF_PHYS_ADDRESS)
    indexes = sorted({*names, *descriptions, *types, *oper, *admin})
    ports = []
    for index in indexes:
        if len(index) != 1:
            continue
        description = descriptions.get(index, "")
        mac_raw = macs.get(index)
        ports.append(Port(
            if_index=index[0],
            name=names.get(index) or description or f"if{index[0]}",
            description=description,
            alias=aliases.get(index, ""),
            if_type=types.get(index),
            admin_status=IF_STATUS.get(admin.get(index, 4), "unknown"),
            oper_status=IF_STATUS.get(oper.get(index, 4), "unknown"),
            speed_mbps=speeds.get(index),
            mac=None if mac_raw is None else format_mac(mac_raw),
        ))
    return ports


def interface_samples(snapshot: Snapshot, ports: list[Port]) -> list[Sample]:
    """Per port: ``interface.oper_status`` / ``interface.admin_status`` (states),
    ``interface.speed`` (bytes per second, from ifHighSpeed), and raw counters
    ``interface.in_octets``/``out_octets`` (64-bit when the agent has them) and
    ``interface.in_errors``/``out_errors``."""
    counters = _counter_columns(snapshot)
    samples: list[Sample] = []
    for port in ports:
        if port.if_type == IF_TYPE_SOFTWARE_LOOPBACK:
            continue
        labels = {"interface": port.name, "if_index": str(port.if_index)}
        samples.append(state_sample("interface.oper_status", port.oper_status, labels))
        samples.append(state_sample("interface.admin_status", port.admin_status, labels))
        if port.speed_mbps is not None:
            speed = port.speed_mbps * 1_000_000 / 8
            samples.append(value_sample("interface.speed", speed, "bytes_per_second", labels))
        for name, unit, column in counters:
            value = column.get((port.if_index,))
            if value is not None:
                samples.append(value_sample(name, value, unit, labels))  # type: ignore[arg-type]
    return samples


def _counter_columns(snapshot: Snapshot) -> list[tuple[str, str, dict[tuple[int, ...], int]]]:
    columns = []
    for name, wide, narrow, unit in _COUNTERS:
        values = snapshot.integer_column(wide) if wide is not None else {}
        columns.append((name, unit, values or snapshot.integer_column(narrow)))
    return columns


def physical_macs(ports: list[Port]) -> list[str]:
    """MAC addresses of real interfaces (no loopback, no all-zero), without repeats."""
    macs: list[str] = []
    for port in ports:
        if port.if_type == IF_TYPE_SOFTWARE_LOOPBACK or not port.mac:
            continue
        if port.mac != "00:00:00:00:00:00" and port.mac not in macs:
            macs.append(port.mac)
    return macs
