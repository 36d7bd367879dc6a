"""LLDP-MIB (IEEE 802.1AB): the neighbours each local port sees."""

from __future__ import annotations

import ipaddress

from collector.snmp import oids
from collector.snmp.decode.interfaces import Port
from collector.snmp.model import LldpNeighbour
from collector.snmp.oids import Oid
from collector.snmp.snapshot import Snapshot, display_text, format_mac

CHASSIS_ID_KINDS: dict[int, str] = {
    1: "chassis_component", 2: "interface_alias", 3: "port_component", 4: "mac",
    5: "network_address", 6: "interface_name", 7: "local",
}
PORT_ID_KINDS: dict[int, str] = {
    1: "interface_alias", 2: "port_component", 3: "mac", 4: "network_address",
    5: "interface_name", 6: "agent_circuit_id", 7: "local",
}


def lldp_neighbours(snapshot: Snapshot, ports: list[Port]) -> list[LldpNeighbour]:
    """lldpRemTable rows (index: timeMark.localPortNum.remIndex) with the local port
    named as the device names it."""
    chassis_ids = snapshot.octets_column(oids.LLDP_REM_CHASSIS_ID)
    chassis_kinds = snapshot.integer_column(oids.LLDP_REM_CHASSIS_ID_SUBTYPE)
    port_ids = snapshot.octets_column(oids.LLDP_REM_PORT_ID)
    port_kinds = snapshot.integer_column(oids.LLDP_REM_PORT_ID_SUBTYPE)
    port_descriptions = snapshot.text_column(oids.LLDP_REM_PORT_DESC)
    system_names = snapshot.text_column(oids.LLDP_REM_SYS_NAME)
    local_names = _local_port_names(snapshot, ports)
    neighbours = []
    for index, raw_chassis in chassis_ids.items():
        if len(index) != 3:
            continue
        local_port = local_names.get(index[1], f"lldp-port-{index[1]}")
        chassis_kind = CHASSIS_ID_KINDS.get(chassis_kinds.get(index, 7), "local")
        port_kind = PORT_ID_KINDS.get(port_kinds.get(index, 7), "local")
        neighbours.append(LldpNeighbour(
            local_port=local_port,
            chassis_id=identifier_text(raw_chassis, chassis_kind),
            chassis_id_kind=chassis_kind,
            port_id=identifier_text(port_ids.get(index, b""), port_kind),
            port_description=port_descriptions.get(index, ""),
            system_name=system_names.get(index, ""),
        ))
    return neighbours


def lldp_local_port_oids(snapshot: Snapshot) -> tuple[Oid, ...]:
    """lldpLocPortId/Desc of just the local ports that have neighbours, to GET."""
    remote = snapshot.integer_column(oids.LLDP_REM_CHASSIS_ID_SUBTYPE)
    numbers = sorted({index[1] for index in remote if len(index) == 3})
    return tuple(
        (*column, number)
        for number in numbers
        for column in (oids.LLDP_LOC_PORT_ID, oids.LLDP_LOC_PORT_DESC)
    )


def identifier_text(raw: bytes, kind: str) -> str:
    """An LLDP chassis/port id as text: MACs as aa:bb:.., network addresses (IANA
    family octet + address) as IP text, anything else as display text."""
    if kind == "mac":
        return format_mac(raw) or raw.hex()
    if kind == "network_address" and len(raw) in (5, 17) and raw[0] in (1, 2):
        return str(ipaddress.ip_address(raw[1:]))
    return display_text(raw)


def _local_port_names(snapshot: Snapshot, ports: list[Port]) -> dict[int, str]:
    """lldpLocPortNum -> the interface name: lldpLocPortId or lldpLocPortDesc when it
    matches a known interface, else ifName of the ifIndex with the same number."""
    known = {port.name for port in ports} | {port.description for port in ports}
    by_if_index = {port.if_index: port.name for port in ports}
    ids = snapshot.text_column(oids.LLDP_LOC_PORT_ID)
    descriptions = snapshot.text_column(oids.LLDP_LOC_PORT_DESC)
    names: dict[int, str] = {}
    for (number, *_rest), port_id in ids.items():
        description = descriptions.get((number,), "")
        for candidate in (port_id, description):
            if candidate in known:
                names[number] = candidate
                break
        else:
            names[number] = by_if_index.get(number) or port_id or description
    for number, name in by_if_index.items():
        names.setdefault(number, name)
    return names
