from __future__ import annotations

import pytest

from cmdb.identity import identity_keys, usable_mac, usable_serial, usable_uuid


@pytest.mark.parametrize(
    "serial",
    ["To be filled by O.E.M.", "System Serial Number", "0123456789", "00000000", "Default string",
     "N/A", "  ", "", None, 12345, "XXXXXXXX", "Not Specified"],
)
def test_placeholder_serials_identify_nothing(serial: object) -> None:
    assert usable_serial(serial) is None


def test_real_serials_are_normalised() -> None:
    assert usable_serial(" pf1abcde ") == "PF1ABCDE"


@pytest.mark.parametrize(
    "uuid",
    ["03000200-0400-0500-0006-000700080009", "00000000-0000-0000-0000-000000000000",
     "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "not-a-uuid"],
)
def test_cloned_or_default_uuids_identify_nothing(uuid: str) -> None:
    assert usable_uuid(uuid) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("54:E1:AD:12:34:56", "54:e1:ad:12:34:56"),
        ("54-e1-ad-12-34-56", "54:e1:ad:12:34:56"),
        ("54e1.ad12.3456", "54:e1:ad:12:34:56"),
        ("52:54:00:12:34:56", "52:54:00:12:34:56"),  # QEMU/KVM: locally administered, kept
        ("02:42:ac:11:00:02", None),  # docker
        ("be:ee:af:b8:08:2d", None),  # locally administered (random, bridges)
        ("01:00:5e:00:00:01", None),  # multicast
        ("00:00:00:00:00:00", None),
        ("zz:zz", None),
    ],
)
def test_only_physical_macs_identify(raw: str, expected: str | None) -> None:
    assert usable_mac(raw) == expected


def test_keys_come_strongest_first() -> None:
    keys = identity_keys("Computer", {
        "hostname": "PC-1.corp.example", "fqdn": "pc-1.corp.example", "agent_id": "pc-1",
        "macs": ["54:e1:ad:12:34:56", "02:42:ac:11:00:02"], "serial": "ABC123",
        "uuid": "4c4c4544-0042-3010-8052-b4c04f4b4d32",
    })
    assert keys == [
        "serial:ABC123", "uuid:4c4c4544-0042-3010-8052-b4c04f4b4d32", "agent:pc-1",
        "mac:54:e1:ad:12:34:56", "fqdn:pc-1.corp.example", "hostname:pc-1",
    ]


def test_snmp_devices_are_known_by_sysname_and_address() -> None:
    assert identity_keys("Printer", {"sys_name": "PRN-3F", "address": "192.0.2.7"}) == [
        "sysname:prn-3f@192.0.2.7"]


def test_localhost_is_not_a_name() -> None:
    assert identity_keys("Computer", {"hostname": "localhost", "fqdn": "localhost.localdomain"}
                         ) == []
