"""From a classified device's snapshot to inventory, samples and relations (pure).

Each kind of device has a list of section decoders. A section whose requests failed
is not decoded at all (half a forwarding table would read as MACs that moved away),
and a section whose data is malformed is recorded as a failure without stopping the
others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from collector.observation import Inventory
from collector.snmp import oids
from collector.snmp.classify import Classification, DeviceKind
from collector.snmp.decode.bridge import port_macs
from collector.snmp.decode.entity import HardwareIdentity, decode_chassis
from collector.snmp.decode.host import (
    decode_storage,
    host_system_samples,
    memory_bytes,
    processor_samples,
    storage_samples,
)
from collector.snmp.decode.interfaces import decode_ports, interface_samples, physical_macs
from collector.snmp.decode.lldp import lldp_neighbours
from collector.snmp.decode.printer import (
    decode_printer_identity,
    decode_supplies,
    decode_trays,
    page_count_samples,
    supply_samples,
    tray_samples,
)
from collector.snmp.decode.printer_alerts import (
    active_conditions,
    alert_samples,
    decode_alerts,
    printer_condition_samples,
)
from collector.snmp.decode.system import SystemInfo, system_attributes, system_samples
from collector.snmp.errors import SnmpError
from collector.snmp.model import SOURCE, Relation, Sample
from collector.snmp.plan import Section
from collector.snmp.snapshot import Snapshot, format_mac


@dataclass
class DeviceReport:
    """What the section decoders of one device have found so far."""

    system: SystemInfo
    identity: dict[str, object] = field(default_factory=dict)
    attributes: dict[str, object] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)

    def add_hardware(self, hardware: HardwareIdentity) -> None:
        vendor = hardware.vendor or self.system.vendor
        for key, value in (("serial", hardware.serial), ("vendor", vendor),
                           ("model", hardware.model), ("firmware", hardware.firmware)):
            if value:
                self.attributes[key] = value
        if hardware.serial:
            self.identity["serial"] = hardware.serial

    def add_macs(self, macs: list[str]) -> None:
        if macs:
            self.identity["macs"] = macs
            self.attributes["macs"] = macs


SectionDecoder = Callable[[Snapshot, DeviceReport], None]


def _printer_hardware(snapshot: Snapshot, report: DeviceReport) -> None:
    report.add_hardware(decode_printer_identity(snapshot))


def _chassis_hardware(snapshot: Snapshot, report: DeviceReport) -> None:
    report.add_hardware(decode_chassis(snapshot))


def _bridge_hardware(snapshot: Snapshot, report: DeviceReport) -> None:
    _chassis_hardware(snapshot, report)
    raw = snapshot.octets(oids.DOT1D_BASE_BRIDGE_ADDRESS)
    mac = format_mac(raw) if raw else None
    if mac and mac != "00:00:00:00:00:00":
        report.add_macs([mac])


def _interface_macs(snapshot: Snapshot, report: DeviceReport) -> None:
    report.add_macs(physical_macs(decode_ports(snapshot)))


def _switch_ports(snapshot: Snapshot, report: DeviceReport) -> None:
    ports = decode_ports(snapshot)
    report.attributes["ports"] = [port.as_attribute() for port in ports]
    report.samples += interface_samples(snapshot, ports)


def _fdb(snapshot: Snapshot, report: DeviceReport) -> None:
    report.relations += port_macs(snapshot, decode_ports(snapshot))


def _lldp(snapshot: Snapshot, report: DeviceReport) -> None:
    report.relations += lldp_neighbours(snapshot, decode_ports(snapshot))


# Printers keep their current condition as attributes too, so the CMDB shows what a
# printer needs (supplies, paper, a jam) without a rules engine in between.


def _printer_status(snapshot: Snapshot, report: DeviceReport) -> None:
    samples = printer_condition_samples(snapshot)
    report.samples += samples
    status = next((s.state for s in samples if s.name == "printer.status"), None)
    if status is not None:
        report.attributes["printer_status"] = status
    report.attributes["printer_errors"] = active_conditions(samples)


def _supplies(snapshot: Snapshot, report: DeviceReport) -> None:
    supplies = decode_supplies(snapshot)
    report.samples += supply_samples(supplies)
    report.attributes["supplies"] = [supply.as_attribute() for supply in supplies]


def _trays(snapshot: Snapshot, report: DeviceReport) -> None:
    trays = decode_trays(snapshot)
    report.samples += tray_samples(trays)
    report.attributes["trays"] = [tray.as_attribute() for tray in trays]


def _page_count(snapshot: Snapshot, report: DeviceReport) -> None:
    samples = page_count_samples(snapshot)
    report.samples += samples
    pages = [s.value for s in samples if s.name == "printer.page_count" and s.value is not None]
    if pages:
        report.attributes["page_count"] = int(sum(pages))


def _alerts(snapshot: Snapshot, report: DeviceReport) -> None:
    supplies = {supply.index: supply.description for supply in decode_supplies(snapshot)}
    trays = {tray.index: tray.name for tray in decode_trays(snapshot)}
    samples = alert_samples(decode_alerts(snapshot), supplies, trays)
    report.samples += samples
    report.attributes["alerts"] = [dict(sample.labels) for sample in samples]


def _host(snapshot: Snapshot, report: DeviceReport) -> None:
    report.samples += host_system_samples(snapshot)
    size = memory_bytes(snapshot)
    if size is not None:
        report.attributes["memory_bytes"] = size


def _storage(snapshot: Snapshot, report: DeviceReport) -> None:
    report.samples += storage_samples(decode_storage(snapshot))


def _processors(snapshot: Snapshot, report: DeviceReport) -> None:
    report.samples += processor_samples(snapshot)


_HOST_DECODERS: tuple[tuple[Section, SectionDecoder], ...] = (
    (Section.HOST, _host),
    (Section.HARDWARE, _chassis_hardware),
    (Section.INTERFACES, _interface_macs),
    (Section.STORAGE, _storage),
    (Section.PROCESSORS, _processors),
)
DECODERS: dict[DeviceKind, tuple[tuple[Section, SectionDecoder], ...]] = {
    DeviceKind.PRINTER: (
        (Section.HARDWARE, _printer_hardware),
        (Section.INTERFACES, _interface_macs),
        (Section.PRINTER_STATUS, _printer_status),
        (Section.SUPPLIES, _supplies),
        (Section.TRAYS, _trays),
        (Section.PAGE_COUNT, _page_count),
        (Section.ALERTS, _alerts),
    ),
    DeviceKind.NETWORK_DEVICE: (
        (Section.HARDWARE, _bridge_hardware),
        (Section.INTERFACES, _switch_ports),
        (Section.FDB, _fdb),
        (Section.LLDP, _lldp),
    ),
    DeviceKind.SERVER: _HOST_DECODERS,
    DeviceKind.COMPUTER: _HOST_DECODERS,
    DeviceKind.UNKNOWN: (
        (Section.HARDWARE, _chassis_hardware),
        (Section.INTERFACES, _interface_macs),
    ),
}
# Relations name ports; without the interface table they would name the wrong ones.
_NEEDS: dict[Section, Section] = {Section.FDB: Section.INTERFACES, Section.LLDP: Section.INTERFACES}


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    inventory: Inventory
    samples: tuple[Sample, ...]
    relations: tuple[Relation, ...]
    failures: tuple[SnmpError, ...]


def assemble(
    address: str,
    classification: Classification,
    system: SystemInfo,
    snapshot: Snapshot,
    *,
    failed_sections: frozenset[Section] = frozenset(),
    seen_at: datetime | None = None,
) -> DeviceFacts:
    """Decode every section of `classification.kind` that was read in full."""
    report = DeviceReport(system=system)
    report.samples += system_samples(system)
    failures: list[SnmpError] = []
    for section, decode in DECODERS[classification.kind]:
        if section in failed_sections or _NEEDS.get(section) in failed_sections:
            continue
        try:
            decode(snapshot, report)
        except SnmpError as exc:
            failures.append(exc.at(address))
    inventory = Inventory(
        source=SOURCE,
        ci_class=classification.ci_class,
        identity=_identity(address, classification.kind, system, report),
        attributes={**system_attributes(system), **report.attributes, "address": address},
        seen_at=seen_at,
    )
    return DeviceFacts(inventory, tuple(report.samples), tuple(report.relations),
                       tuple(failures))


def _identity(
    address: str, kind: DeviceKind, system: SystemInfo, report: DeviceReport
) -> dict[str, object]:
    identity: dict[str, object] = {"address": address, **report.identity}
    if system.name:
        identity["sys_name"] = system.name
    # Only an operating system's sysName is its host name; a printer's or switch's
    # is whatever an installer typed, often a factory default shared by many.
    if kind in (DeviceKind.SERVER, DeviceKind.COMPUTER) and system.name:
        name = system.name.lower().rstrip(".")
        identity["hostname"] = name.split(".", 1)[0]
        if "." in name:
            identity["fqdn"] = name
    return identity
