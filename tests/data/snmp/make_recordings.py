"""Writes the hand-made device recordings in this folder (snmpsim .snmprec format).

    .venv/bin/python tests/data/snmp/make_recordings.py

The devices are fictional but shaped like real ones: a Brother mono laser with a
paper jam, a Kyocera colour MFP with low magenta toner, a Cisco Catalyst 48-port
access switch with a BRIDGE-MIB forwarding table and LLDP neighbours, and a small
switch that keeps its forwarding table in Q-BRIDGE-MIB only, plus two broken
agents (a supply level sent as text, a sysObjectID that is not an OID). Each line is
``OID|TAG|VALUE``; ``4x`` is an OCTET STRING in hex and ``TAG:numeric|...`` a value
that snmpsim's numeric variation module moves with time.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
Record = tuple[str, str, str]

INT, STR, HEX, OID, COUNTER32, GAUGE, TICKS, COUNTER64 = (
    "2", "4", "4x", "6", "65", "66", "67", "70",
)


def mac_hex(mac: str) -> str:
    return mac.replace(":", "")


def mac_index(mac: str) -> str:
    return ".".join(str(int(part, 16)) for part in mac.split(":"))


def moving(tag: str, value: str) -> tuple[str, str]:
    """(tag, value) for a value written as a number or as ``numeric|<options>``."""
    if value.startswith("numeric|"):
        return f"{tag}:numeric", value.removeprefix("numeric|")
    return tag, value


def system(descr: str, object_id: str, name: str, location: str, contact: str,
           services: int, uptime: str = "8640000") -> list[Record]:
    return [
        ("1.3.6.1.2.1.1.1.0", STR, descr),
        ("1.3.6.1.2.1.1.2.0", OID, object_id),
        ("1.3.6.1.2.1.1.3.0", *moving(TICKS, uptime)),
        ("1.3.6.1.2.1.1.4.0", STR, contact),
        ("1.3.6.1.2.1.1.5.0", STR, name),
        ("1.3.6.1.2.1.1.6.0", STR, location),
        ("1.3.6.1.2.1.1.7.0", INT, str(services)),
    ]


def interface(index: int, descr: str, if_type: int, mac: str, oper: int = 1,
              admin: int = 1, name: str | None = None, speed: int = 1000,
              alias: str = "", octets: tuple[str, str] = ("0", "0"),
              errors: int = 0) -> list[Record]:
    i = str(index)
    records = [
        (f"1.3.6.1.2.1.2.2.1.1.{i}", INT, i),
        (f"1.3.6.1.2.1.2.2.1.2.{i}", STR, descr),
        (f"1.3.6.1.2.1.2.2.1.3.{i}", INT, str(if_type)),
        (f"1.3.6.1.2.1.2.2.1.6.{i}", HEX if mac else STR, mac_hex(mac)),
        (f"1.3.6.1.2.1.2.2.1.7.{i}", INT, str(admin)),
        (f"1.3.6.1.2.1.2.2.1.8.{i}", INT, str(oper)),
        (f"1.3.6.1.2.1.2.2.1.13.{i}", COUNTER32, "0"),
        (f"1.3.6.1.2.1.2.2.1.14.{i}", COUNTER32, str(errors)),
        (f"1.3.6.1.2.1.2.2.1.19.{i}", COUNTER32, "0"),
        (f"1.3.6.1.2.1.2.2.1.20.{i}", COUNTER32, "0"),
        (f"1.3.6.1.2.1.31.1.1.1.1.{i}", STR, name or descr),
        (f"1.3.6.1.2.1.31.1.1.1.15.{i}", GAUGE, str(speed)),
        (f"1.3.6.1.2.1.31.1.1.1.18.{i}", STR, alias),
    ]
    for column, value in zip(("6", "10"), octets, strict=True):
        records.append((f"1.3.6.1.2.1.31.1.1.1.{column}.{i}", *moving(COUNTER64, value)))
    return records


def supply(index: int, description: str, supply_class: int, supply_type: int,
           unit: int, maximum: int, level: int, colorant: int = 0) -> list[Record]:
    base, i = "1.3.6.1.2.1.43.11.1.1", f"1.{index}"
    return [
        (f"{base}.1.{i}", INT, str(index)),
        (f"{base}.2.{i}", INT, "1"),
        (f"{base}.3.{i}", INT, str(colorant)),
        (f"{base}.4.{i}", INT, str(supply_class)),
        (f"{base}.5.{i}", INT, str(supply_type)),
        (f"{base}.6.{i}", STR, description),
        (f"{base}.7.{i}", INT, str(unit)),
        (f"{base}.8.{i}", INT, str(maximum)),
        (f"{base}.9.{i}", INT, str(level)),
    ]


def tray(index: int, name: str, tray_type: int, maximum: int, level: int,
         media: str = "A4") -> list[Record]:
    base, i = "1.3.6.1.2.1.43.8.2.1", f"1.{index}"
    return [
        (f"{base}.2.{i}", INT, str(tray_type)),
        (f"{base}.3.{i}", INT, "4"),  # micrometers
        (f"{base}.4.{i}", INT, "297000"),
        (f"{base}.5.{i}", INT, "210000"),
        (f"{base}.8.{i}", INT, "8"),  # sheets
        (f"{base}.9.{i}", INT, str(maximum)),
        (f"{base}.10.{i}", INT, str(level)),
        (f"{base}.11.{i}", INT, "0"),
        (f"{base}.12.{i}", STR, media),
        (f"{base}.13.{i}", STR, name),
        (f"{base}.18.{i}", STR, name),
    ]


def alert(index: int, severity: int, group: int, group_index: int, code: int,
          description: str, location: int = -1) -> list[Record]:
    base, i = "1.3.6.1.2.1.43.18.1.1", f"1.{index}"
    return [
        (f"{base}.2.{i}", INT, str(severity)),
        (f"{base}.3.{i}", INT, "3"),  # trained
        (f"{base}.4.{i}", INT, str(group)),
        (f"{base}.5.{i}", INT, str(group_index)),
        (f"{base}.6.{i}", INT, str(location)),
        (f"{base}.7.{i}", INT, str(code)),
        (f"{base}.8.{i}", STR, description),
        (f"{base}.9.{i}", TICKS, "8600000"),
    ]


def printer_common(model: str, serial: str, status: int, error_state_hex: str,
                   device_status: int, page_count: int, colorants: list[str]) -> list[Record]:
    records = [
        ("1.3.6.1.2.1.25.3.2.1.1.1", INT, "1"),
        ("1.3.6.1.2.1.25.3.2.1.2.1", OID, "1.3.6.1.2.1.25.3.1.5"),  # hrDevicePrinter
        ("1.3.6.1.2.1.25.3.2.1.3.1", STR, model),
        ("1.3.6.1.2.1.25.3.2.1.5.1", INT, str(device_status)),
        ("1.3.6.1.2.1.25.3.5.1.1.1", INT, str(status)),
        ("1.3.6.1.2.1.25.3.5.1.2.1", HEX, error_state_hex),
        ("1.3.6.1.2.1.43.5.1.1.1.1", COUNTER32, "3"),
        ("1.3.6.1.2.1.43.5.1.1.16.1", STR, model),
        ("1.3.6.1.2.1.43.5.1.1.17.1", STR, serial),
        ("1.3.6.1.2.1.43.10.2.1.2.1.1", INT, "4"),  # electrophotographicLaser
        ("1.3.6.1.2.1.43.10.2.1.3.1.1", INT, "7"),  # impressions
        ("1.3.6.1.2.1.43.10.2.1.4.1.1", COUNTER32, str(page_count)),
    ]
    for number, colour in enumerate(colorants, start=1):
        records.append((f"1.3.6.1.2.1.43.12.1.1.4.1.{number}", STR, colour))
    return records


def mono_laser() -> list[Record]:
    mac = "3c:2a:f4:e1:d2:b0"
    return [
        *system("Brother NC-8300h, Firmware Ver.1.20  (19.07.15),MID 8CE-F11,FID 2",
                "1.3.6.1.4.1.2435.2.3.9.1", "BRN3C2AF4E1D2B0", "2nd floor, room 214",
                "helpdesk@example.org", 72),
        *interface(1, "Brother NC-8300h", 6, mac, speed=100),
        *interface(2, "Loopback", 24, "", speed=0),
        # jammed: bit 5, the only octet the printer sends
        *printer_common("Brother HL-L5100DN series", "E78123A9N456789", status=1,
                        error_state_hex="04", device_status=5, page_count=48213,
                        colorants=["black"]),
        *supply(1, "Black Toner", 3, 3, 19, 100, 35, colorant=1),
        *supply(2, "Drum Unit", 3, 9, 7, 30000, 18600),
        *tray(1, "Tray 1", 3, 250, -3),
        *tray(2, "MP Tray", 5, 50, 0),
        *tray(3, "Tray 2", 3, 520, 310),
        *alert(1, 3, 13, 1, 8, "Jam Tray 1", location=0),
    ]


def colour_mfp() -> list[Record]:
    mac = "00:17:c8:5a:10:3e"
    return [
        *system("KYOCERA Document Solutions Printing System", "1.3.6.1.4.1.1347.41",
                "KM6630-3F-EAST", "3rd floor east copy room", "facilities@example.org", 72),
        *interface(1, "Ethernet", 6, mac, speed=1000),
        # low toner (bit 2), sent as two octets
        *printer_common("ECOSYS M6630cidn", "VCF9Z12345", status=3, error_state_hex="2000",
                        device_status=3, page_count=152347,
                        colorants=["black", "cyan", "magenta", "yellow"]),
        *supply(1, "Black Toner", 3, 3, 19, 100, 85, colorant=1),
        *supply(2, "Cyan Toner", 3, 3, 19, 100, 42, colorant=2),
        *supply(3, "Magenta Toner", 3, 3, 19, 100, 7, colorant=3),
        *supply(4, "Yellow Toner", 3, 3, 19, 100, 60, colorant=4),
        *supply(5, "Drum Unit", 3, 9, 7, 100000, 64000),
        *supply(6, "Waste Toner Box", 4, 4, 19, 100, 35),
        *supply(7, "Transfer Belt Unit", 3, 20, 7, -2, -2),
        *supply(8, "Fuser Unit", 3, 15, 7, 200000, -3),
        *tray(1, "MP Tray", 5, 100, 0),
        *tray(2, "Cassette 1", 3, 500, -3),
        *tray(3, "Cassette 2", 3, 500, 400, media="A3"),
        *alert(1, 4, 11, 3, 1104, "Magenta toner is low"),
    ]


SWITCH_MAC = "70:18:a7:3b:c0:80"
MONO_MAC, MFP_MAC = "3c:2a:f4:e1:d2:b0", "00:17:c8:5a:10:3e"
UP_PORTS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 17, 23, 49, 50}
ALIASES = {5: "printer BRN 2F", 7: "MFP 3F east", 12: "AP-3F-01", 49: "uplink core-sw1",
           50: "uplink core-sw2"}


def switch_ports() -> list[Record]:
    records: list[Record] = [
        *interface(1, "Vlan1", 53, SWITCH_MAC, speed=1000),
        *interface(14501, "Null0", 1, "", speed=0),
    ]
    for port in range(1, 53):
        up = port in UP_PORTS
        octets = (
            (f"numeric|rate={9000 + port * 311},initial={10**9 * port}",
             f"numeric|rate={4000 + port * 97},initial={10**8 * port}") if up
            else (str(1000 * port), str(2000 * port))
        )
        records += interface(
            10100 + port, f"GigabitEthernet1/0/{port}", 6, f"70:18:a7:3b:c0:{0x80 + port:02x}",
            oper=1 if up else 2, admin=2 if port == 48 else 1, name=f"Gi1/0/{port}",
            alias=ALIASES.get(port, ""), octets=octets, errors=17 if port == 17 else 0,
        )
    return records


def fdb_entry(mac: str, port: int, status: int = 3) -> list[Record]:
    index = mac_index(mac)
    return [
        (f"1.3.6.1.2.1.17.4.3.1.1.{index}", HEX, mac_hex(mac)),
        (f"1.3.6.1.2.1.17.4.3.1.2.{index}", INT, str(port)),
        (f"1.3.6.1.2.1.17.4.3.1.3.{index}", INT, str(status)),
    ]


def switch_fdb() -> list[Record]:
    records = [
        ("1.3.6.1.2.1.17.1.1.0", HEX, mac_hex(SWITCH_MAC)),
        ("1.3.6.1.2.1.17.1.2.0", INT, "52"),
        ("1.3.6.1.2.1.17.1.3.0", INT, "2"),
    ]
    for port in range(1, 53):
        records.append((f"1.3.6.1.2.1.17.1.4.1.2.{port}", INT, str(10100 + port)))
    records += fdb_entry(MONO_MAC, 5) + fdb_entry(MFP_MAC, 7)
    for port in (1, 2, 3, 4, 6, 8, 9, 10, 11, 12, 17, 23):
        records += fdb_entry(f"d4:81:d7:10:{port:02x}:01", port)
    for host in range(20):
        records += fdb_entry(f"00:50:56:a1:{host:02x}:{0x10 + host:02x}", 49)
    records += fdb_entry(SWITCH_MAC, 0, status=4)  # the switch itself
    records += fdb_entry("00:00:0c:07:ac:01", 3, status=5)  # static (mgmt)
    return records


def lldp_neighbour(port: int, rem_index: int, chassis_mac: str, port_kind: int,
                   port_id_hex: str, port_desc: str, sys_name: str) -> list[Record]:
    base, i = "1.0.8802.1.1.2.1.4.1.1", f"0.{port}.{rem_index}"
    return [
        (f"{base}.4.{i}", INT, "4"),
        (f"{base}.5.{i}", HEX, mac_hex(chassis_mac)),
        (f"{base}.6.{i}", INT, str(port_kind)),
        (f"{base}.7.{i}", HEX, port_id_hex),
        (f"{base}.8.{i}", STR, port_desc),
        (f"{base}.9.{i}", STR, sys_name),
        (f"{base}.10.{i}", STR, "Arista Networks EOS" if "core" in sys_name else "ArubaOS"),
    ]


def switch_lldp() -> list[Record]:
    records: list[Record] = []
    for port in range(1, 53):
        base = "1.0.8802.1.1.2.1.3.7.1"
        records += [
            (f"{base}.2.{port}", INT, "5"),
            (f"{base}.3.{port}", STR, f"Gi1/0/{port}"),
            (f"{base}.4.{port}", STR, f"GigabitEthernet1/0/{port}"),
        ]
    records += lldp_neighbour(49, 1, "00:1c:73:aa:bb:01", 5, b"Ethernet12".hex(),
                              "acc-sw-3f uplink", "core-sw1.example.org")
    records += lldp_neighbour(12, 2, "94:b4:0f:12:34:56", 3, "94b40f123456",
                              "eth0", "AP-3F-01")
    return records


def access_switch() -> list[Record]:
    return [
        *system("Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), "
                "Version 15.2(7)E8, RELEASE SOFTWARE (fc1)", "1.3.6.1.4.1.9.1.1208",
                "acc-sw-3f.example.org", "3rd floor IDF", "netops@example.org", 2,
                uptime="numeric|rate=100,initial=512345600"),
        ("1.3.6.1.2.1.47.1.1.1.1.5.1", INT, "11"),
        ("1.3.6.1.2.1.47.1.1.1.1.5.1001", INT, "3"),
        ("1.3.6.1.2.1.47.1.1.1.1.10.1001", STR, "15.2(7)E8"),
        ("1.3.6.1.2.1.47.1.1.1.1.11.1", STR, ""),
        ("1.3.6.1.2.1.47.1.1.1.1.11.1001", STR, "FOC2031X1AB"),
        ("1.3.6.1.2.1.47.1.1.1.1.12.1001", STR, ""),
        ("1.3.6.1.2.1.47.1.1.1.1.13.1001", STR, "WS-C2960X-48TS-L"),
        *switch_ports(),
        *switch_fdb(),
        *switch_lldp(),
    ]


def qbridge_switch() -> list[Record]:
    records = [
        *system("Aruba JL258A 2930F-8G-PoE+-2SFP+ Switch, revision WC.16.10.0012",
                "1.3.6.1.4.1.11.2.3.7.11.181", "edge-sw-lab", "lab bench",
                "netops@example.org", 2),
        ("1.3.6.1.2.1.17.1.1.0", HEX, "ecebb8001100"),
        ("1.3.6.1.2.1.17.1.2.0", INT, "10"),
    ]
    for port in range(1, 11):
        records += interface(port, str(port), 6, f"ec:eb:b8:00:11:{port:02x}",
                             oper=1 if port <= 3 else 2)
        records.append((f"1.3.6.1.2.1.17.1.4.1.2.{port}", INT, str(port)))
    for vlan, mac, port in ((10, "00:11:22:33:44:01", 1), (20, "00:11:22:33:44:02", 2),
                            (20, "00:11:22:33:44:03", 2), (1, "ec:eb:b8:00:11:00", 0)):
        index = f"{vlan}.{mac_index(mac)}"
        records += [
            (f"1.3.6.1.2.1.17.7.1.2.2.1.2.{index}", INT, str(port)),
            (f"1.3.6.1.2.1.17.7.1.2.2.1.3.{index}", INT, "3" if port else "4"),
        ]
    return records


def broken_printer_firmware() -> list[Record]:
    """The mono laser with a firmware bug: one supply level sent as text."""
    level = "1.3.6.1.2.1.43.11.1.1.9.1.1"
    return [(level, STR, "35%") if oid == level else (oid, tag, value)
            for oid, tag, value in mono_laser()]


def garbled_agent() -> list[Record]:
    """An agent whose sysObjectID is an OCTET STRING: nothing to classify it by."""
    return [(oid, STR, value) if oid == "1.3.6.1.2.1.1.2.0" else (oid, tag, value)
            for oid, tag, value in system("Embedded agent", "1.3.6.1.4.1.99999.1",
                                          "widget", "", "", 72)]


def oid_key(record: Record) -> tuple[int, ...]:
    return tuple(int(part) for part in record[0].split("."))


def write(name: str, records: list[Record]) -> None:
    lines = [f"{oid}|{tag}|{value}" for oid, tag, value in sorted(records, key=oid_key)]
    (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    write("printer-mono-laser.snmprec", mono_laser())
    write("printer-colour-mfp.snmprec", colour_mfp())
    write("switch-48-port.snmprec", access_switch())
    write("switch-qbridge.snmprec", qbridge_switch())
    write("printer-broken-firmware.snmprec", broken_printer_firmware())
    write("agent-garbled-sysobjectid.snmprec", garbled_agent())


if __name__ == "__main__":
    main()
