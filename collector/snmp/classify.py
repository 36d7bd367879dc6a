"""What kind of device an agent is, from sysObjectID, sysDescr, sysServices and
which MIBs answer a probe.

Evidence is weighed strongest first: a MIB that only one kind of device implements
(Printer-MIB), then the vendor's product subtree, then sysDescr wording, then the
OSI layers the agent claims in sysServices.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from collector.snmp import oids
from collector.snmp.decode.system import SystemInfo
from collector.snmp.oids import Oid, parse_oid
from collector.snmp.snapshot import Snapshot


class DeviceKind(enum.StrEnum):
    PRINTER = "printer"
    NETWORK_DEVICE = "network_device"
    SERVER = "server"
    COMPUTER = "computer"
    UNKNOWN = "unknown"


# Inventory.ci_class per kind. An agent we cannot place is still network-attached
# equipment that answers SNMP (UPS, PDU, access point): NetworkDevice.
CI_CLASSES: dict[DeviceKind, str] = {
    DeviceKind.PRINTER: "Printer",
    DeviceKind.NETWORK_DEVICE: "NetworkDevice",
    DeviceKind.SERVER: "Server",
    DeviceKind.COMPUTER: "Computer",
    DeviceKind.UNKNOWN: "NetworkDevice",
}

# Probed with one GETNEXT each: does the agent have anything under these?
PROBES: tuple[Oid, ...] = (
    oids.PRT_GENERAL_ENTRY,
    oids.HR_PRINTER_ENTRY,
    oids.DOT1D_BASE,
    oids.HR_SYSTEM,
    oids.ENT_PHYSICAL_ENTRY,
    oids.LLDP_REM_ENTRY,
)

_PRINTER_SUBTREES: tuple[Oid, ...] = tuple(parse_oid(text) for text in (
    "1.3.6.1.4.1.11.2.3.9",  # HP netPrinters / JetDirect
    "1.3.6.1.4.1.2435.2.3.9",  # Brother
    "1.3.6.1.4.1.1347",  # Kyocera
    "1.3.6.1.4.1.641",  # Lexmark
    "1.3.6.1.4.1.367",  # Ricoh
    "1.3.6.1.4.1.253",  # Xerox
    "1.3.6.1.4.1.1602",  # Canon
    "1.3.6.1.4.1.1248",  # Epson
    "1.3.6.1.4.1.18334",  # Konica Minolta
    "1.3.6.1.4.1.2385",  # Sharp
    "1.3.6.1.4.1.2001",  # OKI
))
_NETWORK_ENTERPRISES = frozenset({
    9, 43, 171, 207, 890, 1916, 1991, 2011, 2636, 4526, 6027, 11863, 12356, 14823, 14988,
    25461, 25506, 30065, 41112, 47196,
})
_PRINTER_WORDS = re.compile(
    r"laserjet|officejet|deskjet|jetdirect|printer|\bmfp\b|imagerunner|bizhub|"
    r"workcentre|versalink|altalink|ecosys|taskalfa|aficio|brother nc-",
    re.IGNORECASE,
)
_WINDOWS_WORKSTATION: Oid = parse_oid("1.3.6.1.4.1.311.1.1.3.1.1")
_NET_SNMP_DARWIN: Oid = parse_oid("1.3.6.1.4.1.8072.3.2.16")
_HOST_AGENTS: tuple[Oid, ...] = (parse_oid("1.3.6.1.4.1.8072.3.2"), parse_oid("1.3.6.1.4.1.311"))


@dataclass(frozen=True, slots=True)
class Classification:
    kind: DeviceKind
    reason: str

    @property
    def ci_class(self) -> str:
        return CI_CLASSES[self.kind]


def answers(snapshot: Snapshot, root: Oid) -> bool:
    """Whether the probe found any object under `root`."""
    return snapshot.has_subtree(root)


def classify(system: SystemInfo, probed: Snapshot) -> Classification:
    """The device kind for an agent's system group and its probe answers."""
    object_id = system.object_id or ()
    if answers(probed, oids.PRT_GENERAL_ENTRY) or answers(probed, oids.HR_PRINTER_ENTRY):
        return Classification(DeviceKind.PRINTER, "Printer-MIB answers")
    if _under(object_id, _PRINTER_SUBTREES):
        return Classification(DeviceKind.PRINTER, "sysObjectID is a printer product")
    if _PRINTER_WORDS.search(system.descr):
        return Classification(DeviceKind.PRINTER, "sysDescr names a printer")
    host_like = system.offers_layer(7)
    if system.enterprise in _NETWORK_ENTERPRISES and not answers(probed, oids.HR_SYSTEM):
        return Classification(DeviceKind.NETWORK_DEVICE, "network vendor's sysObjectID")
    if answers(probed, oids.DOT1D_BASE) and not host_like:
        return Classification(DeviceKind.NETWORK_DEVICE, "BRIDGE-MIB answers")
    if (system.offers_layer(2) or system.offers_layer(3)) and not host_like:
        return Classification(DeviceKind.NETWORK_DEVICE, "sysServices: switching/routing")
    if answers(probed, oids.HR_SYSTEM) or _under(object_id, _HOST_AGENTS):
        if _under(object_id, (_WINDOWS_WORKSTATION, _NET_SNMP_DARWIN)):
            return Classification(DeviceKind.COMPUTER, "workstation operating system")
        return Classification(DeviceKind.SERVER, "HOST-RESOURCES-MIB answers")
    if answers(probed, oids.DOT1D_BASE):
        return Classification(DeviceKind.NETWORK_DEVICE, "BRIDGE-MIB answers")
    return Classification(DeviceKind.UNKNOWN, "no distinguishing MIB or sysObjectID")


def _under(oid: Oid, subtrees: tuple[Oid, ...]) -> bool:
    return any(oid[: len(root)] == root for root in subtrees)
