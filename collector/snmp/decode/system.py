"""SNMPv2-MIB system group, and the vendor an enterprise number stands for."""

from __future__ import annotations

from dataclasses import dataclass

from collector.snmp import oids
from collector.snmp.errors import SnmpNoSuchName
from collector.snmp.model import Sample, value_sample
from collector.snmp.oids import Oid, format_oid
from collector.snmp.snapshot import Snapshot

# IANA Private Enterprise Numbers of vendors commonly found on office networks.
ENTERPRISE_VENDORS: dict[int, str] = {
    2: "IBM", 9: "Cisco", 11: "HP", 43: "3Com", 171: "D-Link", 207: "Allied Telesis",
    253: "Xerox", 311: "Microsoft", 318: "APC", 367: "Ricoh", 641: "Lexmark", 674: "Dell",
    890: "Zyxel", 1248: "Epson", 1347: "Kyocera", 1602: "Canon", 1916: "Extreme Networks",
    1991: "Brocade", 2001: "OKI", 2011: "Huawei", 2385: "Sharp", 2435: "Brother",
    2636: "Juniper", 3375: "F5", 4526: "Netgear", 6027: "Dell", 6876: "VMware",
    8072: "Net-SNMP", 11863: "TP-Link", 12356: "Fortinet", 14823: "Aruba",
    14988: "MikroTik", 18334: "Konica Minolta", 25461: "Palo Alto Networks", 25506: "H3C",
    30065: "Arista", 41112: "Ubiquiti", 47196: "Aruba",
}


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """The system group of one agent (RFC 3418)."""

    descr: str
    object_id: Oid | None
    uptime_seconds: float | None
    contact: str
    name: str
    location: str
    services: int | None

    @property
    def enterprise(self) -> int | None:
        """The private enterprise number under 1.3.6.1.4.1 that sysObjectID names."""
        prefix = oids.ENTERPRISES
        oid = self.object_id
        if oid is None or len(oid) <= len(prefix) or oid[: len(prefix)] != prefix:
            return None
        return oid[len(prefix)]

    @property
    def vendor(self) -> str | None:
        enterprise = self.enterprise
        return None if enterprise is None else ENTERPRISE_VENDORS.get(enterprise)

    def offers_layer(self, layer: int) -> bool:
        """Whether sysServices claims OSI `layer` (1..7): bit 2**(layer-1)."""
        return self.services is not None and bool(self.services & (1 << (layer - 1)))


def decode_system(snapshot: Snapshot) -> SystemInfo:
    """The system group; raises `SnmpNoSuchName` when the agent shows neither
    sysObjectID nor sysDescr (nothing to identify or classify the device by)."""
    object_id = snapshot.object_id(oids.SYS_OBJECT_ID)
    descr = snapshot.text(oids.SYS_DESCR)
    if object_id is None and descr is None:
        raise SnmpNoSuchName(
            f"no sysObjectID ({format_oid(oids.SYS_OBJECT_ID)}) or sysDescr in view"
        )
    ticks = snapshot.integer(oids.SYS_UPTIME)
    return SystemInfo(
        descr=descr or "",
        object_id=object_id,
        uptime_seconds=None if ticks is None else ticks / 100.0,
        contact=snapshot.text(oids.SYS_CONTACT) or "",
        name=snapshot.text(oids.SYS_NAME) or "",
        location=snapshot.text(oids.SYS_LOCATION) or "",
        services=snapshot.integer(oids.SYS_SERVICES),
    )


def system_attributes(system: SystemInfo) -> dict[str, object]:
    attributes: dict[str, object] = {
        "sys_name": system.name,
        "sys_descr": system.descr,
        "sys_location": system.location,
        "sys_contact": system.contact,
    }
    if system.object_id is not None:
        attributes["sys_object_id"] = format_oid(system.object_id)
    return {key: value for key, value in attributes.items() if value != ""}


def system_samples(system: SystemInfo) -> list[Sample]:
    """``snmp.agent_uptime``: how long the agent (not the host) has run."""
    if system.uptime_seconds is None:
        return []
    return [value_sample("snmp.agent_uptime", system.uptime_seconds, "seconds")]
