"""Which forwarding-table entries of a switch mean "this host is plugged into that
port" (pure).

A switch learns the MAC address of every host it forwards for, not only of those
cabled to it: behind an uplink it learns the whole building. The rule that keeps
only direct connections (an *edge port*):

* only learned entries count (the decoder already drops ``self``/``mgmt`` ones), and
  never one of the switch's own MAC addresses (bridge address, port MACs);
* a port with more than `max_macs_per_edge_port` learned MACs (default 4: a PC, an
  IP phone in front of it, a docking station) is an uplink or a cascaded switch;
* a port whose LLDP neighbour is a known network device (another switch, a router)
  is an uplink, however few MACs it shows. Other LLDP neighbours (IP phones, hosts
  running lldpd) do not make a port an uplink.

Everything else on an edge port becomes `host -[CONNECTED_TO {port, vlan}]-> switch`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from cmdb.identity import usable_mac
from collector.snmp.model import LldpNeighbour, PortMac, Relation

MAX_MACS_PER_EDGE_PORT = 4


@dataclass(frozen=True, slots=True)
class EdgeHost:
    """A MAC address seen alone (or nearly) on one switch port."""

    mac: str
    port: str
    vlan: int | None


def lldp_chassis_macs(relations: Iterable[Relation]) -> dict[str, str]:
    """Local port -> the neighbour's chassis MAC, for neighbours identified by MAC."""
    found: dict[str, str] = {}
    for relation in relations:
        if isinstance(relation, LldpNeighbour) and relation.chassis_id_kind == "mac":
            mac = usable_mac(relation.chassis_id)
            if mac is not None:
                found[relation.local_port] = mac
    return found


def uplink_ports(
    relations: Iterable[Relation],
    network_neighbour_ports: Collection[str] = (),
    max_macs_per_edge_port: int = MAX_MACS_PER_EDGE_PORT,
) -> set[str]:
    """Ports that lead to more of the network than one host."""
    per_port = Counter(r.port for r in relations if isinstance(r, PortMac))
    crowded = {port for port, count in per_port.items() if count > max_macs_per_edge_port}
    return crowded | set(network_neighbour_ports)


def edge_hosts(
    relations: Iterable[Relation],
    own_macs: Collection[str],
    network_neighbour_ports: Collection[str] = (),
    max_macs_per_edge_port: int = MAX_MACS_PER_EDGE_PORT,
) -> list[EdgeHost]:
    """The hosts directly connected to the switch that reported `relations`."""
    relations = list(relations)
    uplinks = uplink_ports(relations, network_neighbour_ports, max_macs_per_edge_port)
    own = {mac for mac in (usable_mac(m) for m in own_macs) if mac is not None}
    hosts: dict[str, EdgeHost] = {}
    for relation in relations:
        if not isinstance(relation, PortMac) or relation.port in uplinks:
            continue
        mac = usable_mac(relation.mac)
        if mac is None or mac in own:
            continue
        hosts[mac] = EdgeHost(mac, relation.port, relation.vlan)
    return sorted(hosts.values(), key=lambda host: (host.port, host.mac))


def switch_macs(attributes: dict[str, object]) -> list[str]:
    """The switch's own MACs: its identity MACs and every port's MAC."""
    macs = [m for m in _strings(attributes.get("macs"))]
    ports = attributes.get("ports")
    if isinstance(ports, list):
        macs += [p["mac"] for p in ports if isinstance(p, dict) and isinstance(p.get("mac"), str)]
    return macs


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
