"""Which forwarding-table entries mean "plugged into this port"."""

from __future__ import annotations

from collector.snmp.model import LldpNeighbour, PortMac
from collector.snmp.topology import edge_hosts, lldp_chassis_macs, switch_macs, uplink_ports

SWITCH_MAC = "70:18:a7:3b:c0:80"


def fdb(port, *macs, vlan=None):
    return [PortMac(port=port, if_index=None, mac=mac, vlan=vlan) for mac in macs]


def test_a_host_alone_on_a_port_is_connected_to_it():
    [host] = edge_hosts(fdb("Gi1/0/5", "3c:2a:f4:e1:d2:b0", vlan=20), own_macs=[])
    assert (host.mac, host.port, host.vlan) == ("3c:2a:f4:e1:d2:b0", "Gi1/0/5", 20)


def test_a_port_with_more_macs_than_the_limit_is_an_uplink():
    crowded = fdb("Gi1/0/49", *(f"00:50:56:a1:00:{n:02x}" for n in range(5)))
    phone_and_pc = fdb("Gi1/0/3", "00:04:f2:00:00:01", "d4:81:d7:10:03:01")
    hosts = edge_hosts(crowded + phone_and_pc, own_macs=[])
    assert {h.port for h in hosts} == {"Gi1/0/3"}
    assert uplink_ports(crowded + phone_and_pc) == {"Gi1/0/49"}
    assert len(edge_hosts(crowded, own_macs=[], max_macs_per_edge_port=5)) == 5


def test_a_port_facing_a_known_network_device_is_an_uplink_even_with_one_mac():
    relations = fdb("Gi1/0/50", "00:1c:73:aa:bb:01") + fdb("Gi1/0/5", "3c:2a:f4:e1:d2:b0")
    hosts = edge_hosts(relations, own_macs=[], network_neighbour_ports={"Gi1/0/50"})
    assert [h.port for h in hosts] == ["Gi1/0/5"]


def test_the_switchs_own_macs_and_unusable_macs_are_never_hosts():
    relations = fdb("Gi1/0/1", SWITCH_MAC.upper(), "01:00:5e:00:00:fb", "02:42:ac:11:00:02",
                    "00:00:00:00:00:00")
    assert edge_hosts(relations, own_macs=[SWITCH_MAC]) == []


def test_switch_macs_include_port_macs():
    attributes = {"macs": [SWITCH_MAC], "ports": [{"name": "Gi1/0/1", "mac": "70:18:a7:3b:c0:81"},
                                                  {"name": "Null0", "mac": None}]}
    assert switch_macs(attributes) == [SWITCH_MAC, "70:18:a7:3b:c0:81"]


def test_lldp_neighbours_identified_by_mac():
    relations = [
        LldpNeighbour("Gi1/0/49", "00:1c:73:aa:bb:01", "mac", "Ethernet12"),
        LldpNeighbour("Gi1/0/12", "AP-3F-01", "local", "eth0"),
    ]
    assert lldp_chassis_macs(relations) == {"Gi1/0/49": "00:1c:73:aa:bb:01"}
