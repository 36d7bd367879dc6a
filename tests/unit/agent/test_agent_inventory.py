from __future__ import annotations

from pathlib import Path

import pytest
from agent_fakes import DATA, FAKE_ROOT, FakeHostSource

from agent.errors import PlatformNotSupportedError
from agent.hardware import (
    LinuxDmiHardware,
    MacIoregHardware,
    NoHardwareIdentity,
    WindowsWmiHardware,
    clean_identity_value,
    hardware_source_for,
    read_attribute,
)
from agent.inventory import InventoryReader, PlatformFacts, parse_cpu_model, qualified_name
from agent.report import InventoryTracker, changed_fields, inventory_fingerprint

LINUX = PlatformFacts("Linux", "x86_64", "6.1.0-fallback", "pc-0042")


class StaticHardware:
    def __init__(self, identity: dict[str, str]) -> None:
        self.identity = identity

    def read(self) -> dict[str, str]:
        return dict(self.identity)


def reader(
    source: FakeHostSource | None = None, root: Path = FAKE_ROOT, facts: PlatformFacts = LINUX
) -> InventoryReader:
    return InventoryReader(source or FakeHostSource(), root, facts, fqdn_lookup=fake_dns)


def fake_dns(hostname: str) -> str:
    return f"{hostname}.corp.example"


def test_inventory_from_fake_tree_matches_the_report_contract() -> None:
    inventory = reader().read()
    assert inventory["hostname"] == "pc-0042"
    assert inventory["fqdn"] == "pc-0042.corp.example"
    assert inventory["os"] == {
        "family": "linux", "name": "Debian GNU/Linux", "version": "12",
        "kernel": "6.1.0-18-amd64",
    }
    assert inventory["arch"] == "x86_64"
    assert inventory["cpu"] == {
        "model": "Intel(R) Core(TM) i5-8365U CPU @ 1.60GHz", "cores": 4, "threads": 8,
    }
    assert inventory["memory_bytes"] == 16_663_322_624
    assert inventory["boot_time"] == "2026-11-18T11:06:40Z"
    assert inventory["hardware"] == {
        "vendor": "LENOVO", "model": "20QES0N800", "serial": "PF1ABCDE",
        "uuid": "4c4c4544-0042-3010-8056-b4c04f4e3132", "chassis": "notebook",
    }
    assert inventory["disks"] == [
        {"device": "/dev/nvme0n1p2", "mountpoint": "/", "fstype": "ext4",
         "total_bytes": 250_059_350_016},
        {"device": "/dev/nvme0n1p1", "mountpoint": "/boot/efi", "fstype": "vfat",
         "total_bytes": 536_870_912},
        {"device": "/dev/sda1", "mountpoint": "/data", "fstype": "xfs",
         "total_bytes": 1_000_000_000_000},
    ]


def test_nics_normalise_macs_and_drop_loopback_and_veth() -> None:
    nics = {nic["name"]: nic for nic in reader().read()["nics"]}
    assert set(nics) == {"enp0s31f6", "wlp0s20f3"}
    assert nics["wlp0s20f3"] == {
        "name": "wlp0s20f3", "mac": "52:54:00:12:34:56", "ipv4": ["192.0.2.10"],
        "ipv6": ["fe80::1"], "is_up": True,
    }
    assert nics["enp0s31f6"]["mac"] == "52:54:00:ab:cd:ef"
    assert nics["enp0s31f6"]["speed_mbps"] == 1000
    assert nics["enp0s31f6"]["is_up"] is False


def test_unknown_fields_are_absent_not_empty(tmp_path: Path) -> None:
    source = FakeHostSource(physical=0)
    source.usage.pop("/data")
    inventory = reader(source, root=tmp_path).read()
    assert "hardware" not in inventory
    assert "model" not in inventory["cpu"]
    assert "cores" not in inventory["cpu"]
    assert inventory["os"] == {"family": "linux", "kernel": "6.1.0-fallback"}
    data_disk = next(d for d in inventory["disks"] if d["mountpoint"] == "/data")
    assert "total_bytes" not in data_disk


def test_placeholder_firmware_values_are_not_identity() -> None:
    identity = LinuxDmiHardware(DATA / "root-placeholder").read()
    assert identity == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("To Be Filled By O.E.M.\n", None), ("00000000-0000-0000-0000-000000000000", None),
     ("FFFFFFFF", None), ("Default string", None), ("  PF1ABCDE \n", "PF1ABCDE"),
     ("Dell Inc.\x00", "Dell Inc.")],
)
def test_clean_identity_value(raw: str, expected: str | None) -> None:
    assert clean_identity_value(raw) == expected


def test_root_only_dmi_files_are_tolerated() -> None:
    def read(path: Path) -> str:
        if path.name in ("product_serial", "product_uuid"):
            raise PermissionError(13, "Permission denied", str(path))
        return read_attribute(path)

    identity = LinuxDmiHardware(FAKE_ROOT, read).read()
    assert identity == {"vendor": "LENOVO", "model": "20QES0N800", "chassis": "notebook"}


def test_boards_without_dmi_use_the_device_tree() -> None:
    root = DATA / "root-arm"
    assert LinuxDmiHardware(root).read() == {
        "model": "Raspberry Pi 4 Model B Rev 1.4", "serial": "10000000abcdef01",
    }
    facts = PlatformFacts("Linux", "aarch64", "6.6.0", "pi")
    inventory = reader(root=root, facts=facts).read()
    assert inventory["cpu"]["model"] == "BCM2835"
    assert inventory["os"]["version"] == "12"


def test_other_platforms_have_isolated_sources_that_say_not_supported() -> None:
    assert isinstance(hardware_source_for("Linux"), LinuxDmiHardware)
    assert isinstance(hardware_source_for("FreeBSD"), NoHardwareIdentity)
    for source in (hardware_source_for("Windows"), hardware_source_for("Darwin")):
        assert isinstance(source, WindowsWmiHardware | MacIoregHardware)
        with pytest.raises(PlatformNotSupportedError, match="not implemented"):
            source.read()


def test_windows_inventory_omits_hardware_instead_of_failing() -> None:
    facts = PlatformFacts("Windows", "AMD64", "10", "pc-win", "Windows", "10.0.19045")
    inventory = InventoryReader(
        FakeHostSource(), Path("/nonexistent"), facts, fqdn_lookup=lambda name: name
    ).read()
    assert "fqdn" not in inventory
    assert "hardware" not in inventory
    assert inventory["os"] == {
        "family": "windows", "name": "Windows", "version": "10.0.19045", "kernel": "10",
    }
    assert inventory["arch"] == "x86_64"


def test_cpu_model_parsing() -> None:
    assert parse_cpu_model("processor\t: 0\nmodel\t\t: 142\n") is None
    assert parse_cpu_model("model name\t: AMD  EPYC   7B13\n") == "AMD EPYC 7B13"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("pc-0042.corp.example", "pc-0042.corp.example"), ("pc-0042", None),
     ("localhost", None), ("localhost.localdomain", None), ("PC.Corp.Example.", "pc.corp.example")],
)
def test_only_real_fqdns_are_reported(name: str, expected: str | None) -> None:
    assert qualified_name(name) == expected


def test_fingerprint_is_stable_and_sensitive() -> None:
    inventory = reader().read()
    same = reader().read()
    assert inventory_fingerprint(inventory) == inventory_fingerprint(same)
    same["nics"][0]["ipv4"] = ["192.0.2.99"]
    assert inventory_fingerprint(inventory) != inventory_fingerprint(same)
    assert changed_fields(inventory, same) == ["nics"]
    assert changed_fields(None, same) == sorted(same)


def test_tracker_sends_first_then_on_change_then_when_refresh_is_due() -> None:
    tracker = InventoryTracker(refresh_seconds=86400)
    first = reader().read()
    assert tracker.should_send(first, now=0.0)
    tracker.mark_sent(first, now=0.0)
    assert not tracker.should_send(reader().read(), now=300.0)
    source = FakeHostSource()
    source.memory = source.memory._replace(total=32_000_000_000)
    upgraded = reader(source).read()
    assert tracker.should_send(upgraded, now=600.0)
    assert tracker.changes(upgraded) == ["memory_bytes"]
    tracker.mark_sent(upgraded, now=600.0)
    assert not tracker.should_send(upgraded, now=600.0 + 86399)
    assert tracker.should_send(upgraded, now=600.0 + 86400)


def test_hardware_source_is_injectable() -> None:
    facts = LINUX
    inventory = InventoryReader(
        FakeHostSource(), FAKE_ROOT, facts, StaticHardware({"serial": "X1"}), fqdn_lookup=fake_dns
    ).read()
    assert inventory["hardware"] == {"serial": "X1"}
