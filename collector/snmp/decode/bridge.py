"""BRIDGE-MIB (RFC 4188) and Q-BRIDGE-MIB (RFC 4363) forwarding tables: which MAC
addresses a switch has learned behind which port."""

from __future__ import annotations

from collections.abc import Mapping

from collector.snmp import oids
from collector.snmp.decode.interfaces import Port
from collector.snmp.model import PortMac
from collector.snmp.snapshot import Index, Snapshot

# dot1dTpFdbStatus / dot1qTpFdbStatus: only learned(3) entries are hosts behind a
# port; self(4) is the switch's own address, mgmt(5) static configuration.
_LEARNED = 3


def port_macs(snapshot: Snapshot, ports: list[Port]) -> list[PortMac]:
    """Learned FDB entries as (port, MAC[, VLAN]); Q-BRIDGE when the switch fills it,
    else the plain BRIDGE-MIB table. The bridge port number is mapped to an ifIndex
    through dot1dBasePortIfIndex."""
    port_if_index = {
        index[0]: if_index
        for index, if_index in snapshot.integer_column(oids.DOT1D_BASE_PORT_IF_INDEX).items()
        if len(index) == 1
    }
    ports_by_if_index = {port.if_index: port for port in ports}
    q_ports = snapshot.integer_column(oids.DOT1Q_TP_FDB_PORT)
    if q_ports:
        statuses = snapshot.integer_column(oids.DOT1Q_TP_FDB_STATUS)
        entries = _entries(q_ports, statuses, vlan_in_index=True)
    else:
        statuses = snapshot.integer_column(oids.DOT1D_TP_FDB_STATUS)
        entries = _entries(snapshot.integer_column(oids.DOT1D_TP_FDB_PORT), statuses,
                           vlan_in_index=False)
    relations = []
    for bridge_port, mac, vlan in entries:
        if_index = port_if_index.get(bridge_port)
        port = ports_by_if_index.get(if_index) if if_index is not None else None
        name = port.name if port else f"bridge-port-{bridge_port}"
        relations.append(PortMac(port=name, if_index=if_index, mac=mac, vlan=vlan))
    return relations


def _entries(
    ports: Mapping[Index, int], statuses: Mapping[Index, int], *, vlan_in_index: bool
) -> list[tuple[int, str, int | None]]:
    entries = []
    for index, bridge_port in ports.items():
        mac_part = index[1:] if vlan_in_index else index
        if bridge_port == 0 or len(mac_part) != 6 or any(not 0 <= b <= 255 for b in mac_part):
            continue
        if statuses.get(index, _LEARNED) != _LEARNED:
            continue
        mac = ":".join(f"{octet:02x}" for octet in mac_part)
        entries.append((bridge_port, mac, index[0] if vlan_in_index else None))
    return entries
