"""Transform an agent report into CMDB inventory and rule observations (pure)."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime

from collector.observation import Inventory, Observation
from collector.report_model import AgentReport, HostInventory

SOURCE = "agent"
# Interfaces that exist on many machines at once; their MACs identify nothing.
_VIRTUAL_NIC = re.compile(r"^(lo|docker\d*|veth|br-|virbr|vnet|tun|tap|cni|flannel|cali|"
                          r"kube-ipvs|vboxnet|vmnet|zt|wg|ifb|dummy)", re.IGNORECASE)
_SERVER_OS = re.compile(r"server", re.IGNORECASE)


def host_class(inventory: HostInventory) -> str:
    """Server or Computer: an explicit role wins, then a server OS or chassis."""
    if inventory.role in ("server", "computer"):
        return inventory.role.capitalize()
    hints = (inventory.os.name or "", inventory.hardware.chassis or "")
    return "Server" if any(_SERVER_OS.search(h) for h in hints) else "Computer"


def host_inventory(report: AgentReport, inventory: HostInventory | None) -> Inventory:
    """The CMDB inventory of `report`'s host; identity by agent id alone when the
    report carries no inventory (a restarted collector still files metrics)."""
    if inventory is None:
        return Inventory(SOURCE, "Computer", {"agent_id": report.agent_id},
                         {}, report.collected_at)
    physical = [n for n in inventory.nics if not _VIRTUAL_NIC.match(n.name)]
    macs = sorted({n.mac.lower() for n in physical if n.mac})
    ipv4 = sorted({a for n in physical for a in n.ipv4})
    ipv6 = sorted({a for n in physical for a in n.ipv6})
    hardware = inventory.hardware
    identity: dict[str, object] = {
        "agent_id": report.agent_id,
        "serial": hardware.serial,
        "uuid": hardware.uuid,
        "macs": macs,
        "fqdn": inventory.fqdn,
        "hostname": inventory.hostname,
    }
    attributes: dict[str, object] = {
        "hostname": inventory.hostname,
        "fqdn": inventory.fqdn,
        "os_family": inventory.os.family,
        "os_name": inventory.os.name,
        "os_version": inventory.os.version,
        "kernel": inventory.os.kernel,
        "arch": inventory.arch,
        "cpu_model": inventory.cpu.model,
        "cpu_cores": inventory.cpu.cores,
        "cpu_threads": inventory.cpu.threads,
        "memory_bytes": inventory.memory_bytes,
        "boot_time": inventory.boot_time.isoformat() if inventory.boot_time else None,
        "vendor": hardware.vendor,
        "model": hardware.model,
        "serial": hardware.serial,
        "uuid": hardware.uuid,
        "macs": macs,
        "ipv4": ipv4,
        "ipv6": ipv6,
        "nics": [n.model_dump(exclude_none=True) for n in inventory.nics],
        "disks": [d.model_dump(exclude_none=True) for d in inventory.disks],
        "agent_id": report.agent_id,
    }
    return Inventory(SOURCE, host_class(inventory), identity, attributes, report.collected_at)


def observations(report: AgentReport, ci_id: str, received_at: datetime,
                 watched: Collection[str] | None = None) -> list[Observation]:
    """One observation per metric (only those in `watched`, when given), plus the
    heartbeat every report is."""
    at = report.collected_at
    observed = [
        Observation(ci_id=ci_id, name=m.name, observed_at=at, source=SOURCE, value=m.value,
                    unit=m.unit, labels=tuple(sorted(m.labels.items())))
        for m in report.metrics if watched is None or m.name in watched
    ]
    observed.append(Observation(ci_id=ci_id, name="agent.heartbeat", observed_at=received_at,
                                source=SOURCE, value=1.0, unit="count"))
    return observed
