"""Identity keys: which evidence names a CI, strongest first.

A CI is identified by the strongest key available — hardware serial or UUID, then
the agent id, then MAC address, then FQDN/hostname, then SNMP sysName + address — so
the same machine seen by its agent and by SNMP is one CI. Evidence known to be shared
between machines (placeholder serials, cloned UUIDs, virtual and locally administered
MACs) is never used as identity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# Strength of each key kind; higher wins when two keys point at different CIs.
KEY_STRENGTH: dict[str, int] = {
    "serial": 100,
    "uuid": 95,
    "agent": 90,
    "mac": 80,
    "fqdn": 60,
    "hostname": 50,
    "sysname": 40,
    "name": 30,
}

_PLACEHOLDER_SERIALS = frozenset(
    s.casefold()
    for s in (
        "To be filled by O.E.M.", "To Be Filled By O.E.M.", "Default string",
        "System Serial Number", "Not Specified", "Not Applicable", "None", "N/A",
        "0123456789", "123456789", "1234567890", "Chassis Serial Number", "OEM",
        "Unknown", "INVALID", "SerialNumber", "No Asset Information",
    )
)
_PLACEHOLDER_UUIDS = frozenset(
    (
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "03000200-0400-0500-0006-000700080009",  # a widespread BIOS default
        "00020003-0004-0005-0006-000700080009",
        "12345678-1234-5678-90ab-cddeefaabbcc",
    )
)
# Locally administered, yet assigned once per VM and kept: QEMU/KVM.
_STABLE_VIRTUAL_PREFIXES = ("52:54:00:",)
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def usable_serial(raw: object) -> str | None:
    """The serial normalised, or None when it is a placeholder shared by many machines."""
    if not isinstance(raw, str):
        return None
    serial = raw.strip()
    folded = serial.casefold()
    if len(serial) < 4 or folded in _PLACEHOLDER_SERIALS or len(set(folded)) == 1:
        return None
    if folded.startswith(("to be filled", "default", "system serial")):
        return None
    return serial.upper()


def usable_uuid(raw: object) -> str | None:
    """The SMBIOS UUID lower-cased, or None for a known cloned/default value."""
    if not isinstance(raw, str):
        return None
    uuid = raw.strip().lower()
    if not _UUID.match(uuid) or uuid in _PLACEHOLDER_UUIDS or len(set(uuid) - {"-"}) == 1:
        return None
    return uuid


def normalise_mac(raw: object) -> str | None:
    """`aa:bb:cc:dd:ee:ff` from the usual spellings, or None for anything malformed."""
    if not isinstance(raw, str):
        return None
    digits = re.sub(r"[^0-9a-fA-F]", "", raw).lower()
    if len(digits) != 12:
        return None
    mac = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return mac if _MAC.match(mac) else None


def usable_mac(raw: object) -> str | None:
    """A MAC that names one physical interface, or None.

    Multicast, all-zero and locally administered addresses (docker, veth, bridges,
    VPN taps, randomised Wi-Fi) are shared or invented per boot, so they never
    identify a machine; the one exception is QEMU/KVM's prefix, which a VM keeps.
    """
    mac = normalise_mac(raw)
    if mac is None or mac == "00:00:00:00:00:00":
        return None
    first = int(mac[:2], 16)
    if first & 0x01 or (first & 0x02 and not mac.startswith(_STABLE_VIRTUAL_PREFIXES)):
        return None
    return mac


def _host_name(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    name = raw.strip().rstrip(".").lower()
    if not name or name in {"localhost", "localhost.localdomain", "(none)"}:
        return None
    return name


def identity_keys(ci_class: str, evidence: Mapping[str, object]) -> list[str]:
    """The usable identity keys in `evidence`, strongest first, as `kind:value`."""
    keys: list[str] = []
    serial = usable_serial(evidence.get("serial"))
    if serial:
        keys.append(f"serial:{serial}")
    uuid = usable_uuid(evidence.get("uuid"))
    if uuid:
        keys.append(f"uuid:{uuid}")
    agent = evidence.get("agent_id")
    if isinstance(agent, str) and agent:
        keys.append(f"agent:{agent}")
    macs = evidence.get("macs")
    if isinstance(macs, Iterable) and not isinstance(macs, str | bytes):
        usable = {mac for mac in (usable_mac(x) for x in macs) if mac is not None}
        keys.extend(f"mac:{mac}" for mac in sorted(usable))
    fqdn = _host_name(evidence.get("fqdn"))
    if fqdn and "." in fqdn:
        keys.append(f"fqdn:{fqdn}")
    hostname = _host_name(evidence.get("hostname"))
    if hostname:
        keys.append(f"hostname:{hostname.split('.')[0]}")
    sys_name, address = evidence.get("sys_name"), evidence.get("address")
    if isinstance(sys_name, str) and sys_name and isinstance(address, str) and address:
        keys.append(f"sysname:{sys_name.lower()}@{address}")
    name = evidence.get("name")
    if isinstance(name, str) and name.strip():
        keys.append(f"name:{ci_class}:{name.strip()}")
    return keys


def key_strength(key: str) -> int:
    return KEY_STRENGTH.get(key.split(":", 1)[0], 0)
