"""Hardware identity (vendor, model, serial, UUID) behind one small per-platform interface.

The serial and UUID are the CMDB's strongest identity keys, so firmware placeholders
("To Be Filled By O.E.M.", all-zero UUIDs) are dropped: two machines reporting the same
placeholder would otherwise be merged into one configuration item. Linux reads DMI
(`/sys/class/dmi/id`, or the device tree on boards without DMI); Windows (WMI) and
macOS (ioreg) are separate classes that say they are not implemented yet.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from agent.errors import PlatformNotSupportedError

log = logging.getLogger(__name__)

HARDWARE_FIELDS = ("vendor", "model", "serial", "uuid", "chassis")
_DMI_FILES = {
    "vendor": "sys_vendor",
    "model": "product_name",
    "serial": "product_serial",
    "uuid": "product_uuid",
}
_DEVICE_TREE_FILES = {"model": "model", "serial": "serial-number"}
# SMBIOS chassis types (DSP0134 7.4.1) that tell a PC from a server; 1/2 mean "unknown".
CHASSIS_TYPES = {
    3: "desktop", 4: "low-profile desktop", 5: "pizza box", 6: "mini tower", 7: "tower",
    8: "portable", 9: "laptop", 10: "notebook", 11: "hand held", 12: "docking station",
    13: "all in one", 14: "sub notebook", 15: "space-saving", 16: "lunch box",
    17: "main server chassis", 18: "expansion chassis", 19: "sub chassis",
    20: "bus expansion chassis", 21: "peripheral chassis", 22: "raid chassis",
    23: "rack mount chassis", 24: "sealed-case pc", 25: "multi-system chassis",
    26: "compact pci", 27: "advanced tca", 28: "blade", 29: "blade enclosure", 30: "tablet",
    31: "convertible", 32: "detachable", 33: "iot gateway", 34: "embedded pc", 35: "mini pc",
    36: "stick pc",
}
PLACEHOLDER_VALUES = frozenset(
    {
        "to be filled by o.e.m.", "to be filled by oem", "default string", "not specified",
        "not applicable", "not available", "system serial number", "system product name",
        "system manufacturer", "chassis serial number", "serial number", "none", "n/a",
        "na", "unknown", "invalid", "oem", "o.e.m.", "0123456789", "123456789",
        "03000200-0400-0500-0006-000700080009",
    }
)


def clean_identity_value(raw: str) -> str | None:
    """The value without padding, or None when it is a firmware placeholder."""
    value = raw.replace("\x00", "").strip()
    if value.lower() in PLACEHOLDER_VALUES:
        return None
    # "00000000", "FFFFFFFF-FFFF-...", "........" carry no identity either.
    if len(set(value.replace("-", "").replace(" ", "").lower())) <= 1:
        return None
    return value


def read_attribute(path: Path) -> str:
    """Read one sysfs attribute (the default reader; tests inject their own)."""
    return path.read_text(encoding="utf-8", errors="replace")


class HardwareIdentitySource(Protocol):
    """Returns the known subset of vendor/model/serial/uuid; absent keys are unknown."""

    def read(self) -> dict[str, str]: ...


class LinuxDmiHardware:
    """DMI attributes from `<root>/sys/class/dmi/id`, device tree as a fallback.

    `product_serial` and `product_uuid` are readable by root only: as another user
    they are simply unknown, which the report format allows.
    """

    def __init__(
        self, root: Path = Path("/"), read: Callable[[Path], str] = read_attribute
    ) -> None:
        self._dmi = root / "sys" / "class" / "dmi" / "id"
        self._device_tree = root / "proc" / "device-tree"
        self._read = read

    def read(self) -> dict[str, str]:
        if not self._dmi.is_dir():
            return self._read_files(self._device_tree, _DEVICE_TREE_FILES)
        found = self._read_files(self._dmi, _DMI_FILES)
        chassis = self._read_files(self._dmi, {"chassis": "chassis_type"}).get("chassis", "")
        if chassis.isdigit() and int(chassis) in CHASSIS_TYPES:
            found["chassis"] = CHASSIS_TYPES[int(chassis)]
        return found

    def _read_files(self, directory: Path, files: dict[str, str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for key, name in files.items():
            try:
                raw = self._read(directory / name)
            except FileNotFoundError:
                continue
            except PermissionError:
                log.debug("%s is readable by root only; %s unknown", directory / name, key)
                continue
            value = clean_identity_value(raw)
            if value is not None:
                found[key] = value.lower() if key == "uuid" else value
        return found


class WindowsWmiHardware:
    """Would read Win32_ComputerSystemProduct through WMI; not implemented yet."""

    def read(self) -> dict[str, str]:
        raise PlatformNotSupportedError(
            "hardware identity from WMI (Win32_ComputerSystemProduct) is not implemented yet"
        )


class MacIoregHardware:
    """Would read IOPlatformExpertDevice through `ioreg`; not implemented yet."""

    def read(self) -> dict[str, str]:
        raise PlatformNotSupportedError(
            "hardware identity from ioreg (IOPlatformExpertDevice) is not implemented yet"
        )


class NoHardwareIdentity:
    """For platforms with no known source: nothing is known."""

    def read(self) -> dict[str, str]:
        return {}


def hardware_source_for(
    system: str | None = None, root: Path = Path("/")
) -> HardwareIdentitySource:
    """The source for `system` (as `platform.system()` names it; default: this host)."""
    name = system or platform.system()
    if name == "Linux":
        return LinuxDmiHardware(root)
    if name == "Windows":
        return WindowsWmiHardware()
    if name == "Darwin":
        return MacIoregHardware()
    return NoHardwareIdentity()
