"""Hardware and OS inventory of this host, as the plain dict of docs/report-format.md.

Absent keys mean "unknown", never "empty": a field the agent cannot read is left out.
Files are read under a root path (`<root>/etc/os-release`, `<root>/proc/cpuinfo`,
`<root>/sys/class/dmi/id`) so tests use a fake tree and a container can watch its host.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import PlatformNotSupportedError
from agent.hardware import HardwareIdentitySource, hardware_source_for
from agent.interfaces import DEFAULT_EXCLUDED_INTERFACES, interface_included
from agent.probes.source import HostSource, NicAddress
from agent.probes.storage import local_filesystems
from agent.timestamps import rfc3339_utc

log = logging.getLogger(__name__)

Inventory = dict[str, Any]
_FAMILIES = {"Linux": "linux", "Windows": "windows", "Darwin": "macos"}
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}
_CPUINFO_MODEL_KEYS = ("model name", "hardware", "processor", "cpu model")
_ZERO_MAC = "00:00:00:00:00:00"


@dataclass(frozen=True, slots=True)
class PlatformFacts:
    """What the `platform` and `socket` modules say about this host (injected in tests)."""

    system: str
    machine: str
    release: str
    hostname: str
    os_name: str | None = None
    os_version: str | None = None

    @classmethod
    def current(cls) -> PlatformFacts:
        system = platform.system()
        name: str | None = None
        version: str | None = None
        if system == "Windows":
            name, version = "Windows", platform.version()
        elif system == "Darwin":
            name, version = "macOS", platform.mac_ver()[0] or None
        return cls(system, platform.machine(), platform.release(), socket.gethostname(),
                   name, version)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value pairs of an os-release file, quotes removed."""
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            pairs[key] = value.strip().strip("\"'")
    return pairs


def parse_cpu_model(cpuinfo: str) -> str | None:
    """The CPU model from /proc/cpuinfo (x86 `model name`, ARM `Hardware`/`Processor`)."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and value.strip() and key not in fields:
            fields[key] = value.strip()
    for key in _CPUINFO_MODEL_KEYS:
        model = fields.get(key)
        if model and not model.isdigit():  # x86 "processor : 0" is an index, not a model
            return " ".join(model.split())
    return None


def qualified_name(name: str) -> str | None:
    """`name` if it is a real FQDN; None for a bare host name or a `localhost` alias,
    which would make every host that reports it look like the same machine."""
    name = name.strip().rstrip(".").lower()
    if "." not in name or name.split(".")[0] in ("localhost", "localhost4", "localhost6"):
        return None
    return name


def normalise_mac(address: str) -> str | None:
    """`aa:bb:cc:dd:ee:ff` from any common spelling; None for the all-zero address."""
    mac = address.strip().lower().replace("-", ":")
    return None if mac in ("", _ZERO_MAC) else mac


def nic_entry(name: str, addresses: list[NicAddress], is_up: bool | None, speed: int) -> Inventory:
    """One `nics[]` item; only what is known is included."""
    entry: Inventory = {"name": name}
    macs = [normalise_mac(a.address) for a in addresses if a.family == "mac"]
    mac = next((m for m in macs if m), None)
    if mac:
        entry["mac"] = mac
    entry["ipv4"] = sorted(a.address for a in addresses if a.family == "ipv4")
    entry["ipv6"] = sorted(a.address.split("%")[0] for a in addresses if a.family == "ipv6")
    if speed > 0:
        entry["speed_mbps"] = speed
    if is_up is not None:
        entry["is_up"] = is_up
    return entry


class InventoryReader:
    """Reads the inventory on demand; the FQDN (a DNS lookup) is resolved once per name."""

    def __init__(
        self,
        source: HostSource,
        root: Path = Path("/"),
        facts: PlatformFacts | None = None,
        hardware: HardwareIdentitySource | None = None,
        excluded_interfaces: Iterable[str] = DEFAULT_EXCLUDED_INTERFACES,
        fqdn_lookup: Callable[[str], str] = socket.getfqdn,
    ) -> None:
        self._source = source
        self._fqdn_lookup = fqdn_lookup
        self._root = root
        self._facts = facts or PlatformFacts.current()
        self._hardware = hardware or hardware_source_for(self._facts.system, root)
        self._excluded = tuple(excluded_interfaces)
        self._fqdn: tuple[str, str] | None = None

    def read(self) -> Inventory:
        """The current inventory dict."""
        facts = self._facts
        inventory: Inventory = {"hostname": facts.hostname, "fqdn": self._resolve_fqdn()}
        inventory["os"] = self._os()
        inventory["arch"] = _ARCH_ALIASES.get(facts.machine.lower(), facts.machine)
        inventory["cpu"] = self._cpu()
        inventory["memory_bytes"] = self._source.virtual_memory().total
        inventory["boot_time"] = rfc3339_utc(self._source.boot_time())
        hardware = self._read_hardware()
        if hardware:
            inventory["hardware"] = hardware
        inventory["nics"] = self._nics()
        inventory["disks"] = self._disks()
        return {key: value for key, value in inventory.items() if value not in (None, "")}

    def _resolve_fqdn(self) -> str:
        hostname = self._facts.hostname
        if self._fqdn is None or self._fqdn[0] != hostname:
            self._fqdn = (hostname, qualified_name(self._fqdn_lookup(hostname)) or "")
        return self._fqdn[1]

    def _os(self) -> Inventory:
        facts = self._facts
        found: Inventory = {"family": _FAMILIES.get(facts.system, facts.system.lower())}
        name, version = facts.os_name, facts.os_version
        kernel: str | None = facts.release
        if facts.system == "Linux":
            text = _read_text(self._root / "etc" / "os-release")
            text = text or _read_text(self._root / "usr" / "lib" / "os-release")
            release = parse_os_release(text or "")
            name = release.get("NAME", name)
            version = release.get("VERSION_ID", version)
            osrelease = _read_text(self._root / "proc" / "sys" / "kernel" / "osrelease")
            kernel = osrelease.strip() if osrelease else kernel
        found.update({"name": name, "version": version, "kernel": kernel})
        return {key: value for key, value in found.items() if value}

    def _cpu(self) -> Inventory:
        model = parse_cpu_model(_read_text(self._root / "proc" / "cpuinfo") or "")
        if model is None and self._facts.system != "Linux":
            model = platform.processor() or None
        cpu: Inventory = {
            "model": model,
            "cores": self._source.cpu_count(logical=False),
            "threads": self._source.cpu_count(logical=True),
        }
        return {key: value for key, value in cpu.items() if value}

    def _read_hardware(self) -> Inventory:
        try:
            return dict(self._hardware.read())
        except PlatformNotSupportedError as exc:
            log.debug("no hardware identity: %s", exc)
            return {}

    def _nics(self) -> list[Inventory]:
        stats = self._source.net_if_stats()
        nics = []
        for name, addresses in sorted(self._source.net_if_addrs().items()):
            if not interface_included(name, self._excluded):
                continue
            nic_stats = stats.get(name)
            is_up = nic_stats.is_up if nic_stats else None
            speed = nic_stats.speed_mbps if nic_stats else 0
            nics.append(nic_entry(name, addresses, is_up, speed))
        return nics

    def _disks(self) -> list[Inventory]:
        disks = []
        for part in local_filesystems(self._source.disk_partitions()):
            disk: Inventory = {
                "device": part.device, "mountpoint": part.mountpoint, "fstype": part.fstype,
            }
            # size unknown (unreadable mount): the key is left out, as the format wants
            with contextlib.suppress(OSError):
                disk["total_bytes"] = self._source.disk_usage(part.mountpoint).total
            disks.append(disk)
        return disks
