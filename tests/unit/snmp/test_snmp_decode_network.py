"""IF-MIB, BRIDGE/Q-BRIDGE forwarding tables and LLDP, on the stored switch recordings."""

from __future__ import annotations

from collector.snmp.decode.bridge import port_macs
from collector.snmp.decode.entity import decode_chassis
from collector.snmp.decode.interfaces import decode_ports, interface_samples, physical_macs
from collector.snmp.decode.lldp import identifier_text, lldp_neighbours
from collector.snmp.model import LldpNeighbour, PortMac
from collector.snmp.snapshot import Snapshot

SWITCH = "switch-48-port.snmprec"


def test_switch_ports_named_by_ifname_with_status(recording):
    ports = {p.name: p for p in decode_ports(recording(SWITCH))}
    gigabit = [name for name in ports if name.startswith("Gi1/0/")]
    assert len(gigabit) == 52
    assert ports["Gi1/0/1"].if_index == 10101
    assert ports["Gi1/0/1"].oper_status == "up"
    assert ports["Gi1/0/13"].oper_status == "down"
    assert ports["Gi1/0/48"].admin_status == "down"
    assert ports["Gi1/0/49"].alias == "uplink core-sw1"
    assert ports["Gi1/0/49"].speed_mbps == 1000
    assert ports["Gi1/0/1"].mac == "70:18:a7:3b:c0:81"


def test_interface_samples(recording):
    snapshot = recording(SWITCH)
    samples = interface_samples(snapshot, decode_ports(snapshot))
    oper = {s.label("interface"): s.state for s in samples if s.name == "interface.oper_status"}
    assert oper["Gi1/0/5"] == "up"
    assert oper["Gi1/0/30"] == "down"
    assert sum(state == "up" for state in oper.values()) == 18  # 16 ports, Vlan1, Null0
    by_name = {(s.name, s.label("interface")): s for s in samples}
    assert by_name[("interface.in_octets", "Gi1/0/1")].value == 10**9
    assert by_name[("interface.in_octets", "Gi1/0/1")].unit == "bytes"
    assert by_name[("interface.out_octets", "Gi1/0/2")].value == 2 * 10**8
    assert by_name[("interface.in_errors", "Gi1/0/17")].value == 17
    assert by_name[("interface.speed", "Gi1/0/1")].value == 125_000_000
    assert by_name[("interface.speed", "Gi1/0/1")].unit == "bytes_per_second"
    assert by_name[("interface.oper_status", "Gi1/0/1")].label("if_index") == "10101"


def test_32_bit_counters_are_used_when_the_agent_has_no_64_bit_ones(recording):
    recorded = recording("netsnmp-linux.snmprec")
    if_x_table = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
    snapshot = Snapshot((oid, value) for oid, value in recorded.items() if oid[:10] != if_x_table)
    samples = interface_samples(snapshot, decode_ports(snapshot))
    eth0 = {s.name: s.value for s in samples if s.label("interface") == "eth0"}
    assert eth0["interface.in_octets"] == snapshot[(1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 4)]


def test_loopback_is_neither_sampled_nor_an_identity_mac(recording):
    snapshot = recording("netsnmp-linux.snmprec")
    ports = decode_ports(snapshot)
    interfaces = {s.label("interface") for s in interface_samples(snapshot, ports)}
    assert "lo" not in interfaces
    assert physical_macs(ports) == ["be:ee:af:b8:08:2d", "52:19:bc:8b:15:31", "02:fc:00:00:00:01"]


def test_bridge_fdb_maps_ports_to_learned_macs(recording):
    snapshot = recording(SWITCH)
    relations = port_macs(snapshot, decode_ports(snapshot))
    by_mac = {r.mac: r for r in relations}
    assert by_mac["3c:2a:f4:e1:d2:b0"] == PortMac(port="Gi1/0/5", if_index=10105,
                                                  mac="3c:2a:f4:e1:d2:b0", vlan=None)
    assert by_mac["00:17:c8:5a:10:3e"].port == "Gi1/0/7"
    uplink = [r for r in relations if r.port == "Gi1/0/49"]
    assert len(uplink) == 20
    # self (the switch's own address) and mgmt (static) entries are not hosts
    assert "70:18:a7:3b:c0:80" not in by_mac
    assert "00:00:0c:07:ac:01" not in by_mac
    assert len(relations) == 34


def test_q_bridge_fdb_carries_the_vlan(recording):
    snapshot = recording("switch-qbridge.snmprec")
    relations = port_macs(snapshot, decode_ports(snapshot))
    assert sorted((r.port, r.mac, r.vlan) for r in relations) == [
        ("1", "00:11:22:33:44:01", 10),
        ("2", "00:11:22:33:44:02", 20),
        ("2", "00:11:22:33:44:03", 20),
    ]


def test_lldp_neighbours_name_the_local_port_as_the_switch_does(recording):
    snapshot = recording(SWITCH)
    neighbours = {n.local_port: n for n in lldp_neighbours(snapshot, decode_ports(snapshot))}
    assert neighbours["Gi1/0/49"] == LldpNeighbour(
        local_port="Gi1/0/49",
        chassis_id="00:1c:73:aa:bb:01",
        chassis_id_kind="mac",
        port_id="Ethernet12",
        port_description="acc-sw-3f uplink",
        system_name="core-sw1.example.org",
    )
    assert neighbours["Gi1/0/12"].port_id == "94:b4:0f:12:34:56"
    assert neighbours["Gi1/0/12"].system_name == "AP-3F-01"


def test_lldp_network_address_ids_read_as_ip_addresses():
    assert identifier_text(bytes([1, 192, 0, 2, 7]), "network_address") == "192.0.2.7"
    assert identifier_text(b"\x00\x1c\x73\xaa\xbb\x01", "mac") == "00:1c:73:aa:bb:01"
    assert identifier_text(b"port 7\x00", "local") == "port 7"


def test_entity_chassis_identity(recording):
    chassis = decode_chassis(recording(SWITCH))
    assert chassis.serial == "FOC2031X1AB"
    assert chassis.model == "WS-C2960X-48TS-L"
    assert chassis.vendor == ""  # Cisco leaves entPhysicalMfgName empty
    assert chassis.firmware == "15.2(7)E8"
