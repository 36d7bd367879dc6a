"""Poll results and discovery sweeps as documents and text for operators (pure).

`poll_document` is the JSON `opsgraph poll` prints: the normalised result, with the
failure's kind and description but never a credential (errors carry none).
"""

from __future__ import annotations

from dataclasses import asdict

from collector.snmp.discovery import FoundDevice, SweepProgress, SweepResult
from collector.snmp.model import PollResult, PortMac, Sample


def poll_document(result: PollResult) -> dict[str, object]:
    inventory = result.inventory
    return {
        "address": result.address,
        "polled_at": result.polled_at.isoformat(),
        "reachability": result.reachability.value,
        "failures": [{"kind": f.kind, "type": type(f).__name__, "detail": str(f)}
                     for f in result.failures],
        "inventory": None if inventory is None else {
            "ci_class": inventory.ci_class,
            "identity": inventory.identity,
            "attributes": inventory.attributes,
        },
        "samples": [_sample(s) for s in result.samples],
        "relations": [{"kind": "port_mac" if isinstance(r, PortMac) else "lldp", **asdict(r)}
                      for r in result.relations],
    }


def _sample(sample: Sample) -> dict[str, object]:
    document: dict[str, object] = {"name": sample.name, "unit": sample.unit}
    if sample.value is not None:
        document["value"] = sample.value
    if sample.state is not None:
        document["state"] = sample.state
    if sample.labels:
        document["labels"] = dict(sample.labels)
    return document


def progress_line(progress: SweepProgress) -> str:
    percent = 100 * progress.asked // max(1, progress.total)
    width = 30
    filled = width * progress.asked // max(1, progress.total)
    bar = "#" * filled + "." * (width - filled)
    return (f"discover [{bar}] {percent:3d}% {progress.asked}/{progress.total} asked, "
            f"{progress.answered} answered")


def summary_table(result: SweepResult, registered: dict[tuple[str, int], str] | None = None
                  ) -> str:
    """One row per device found, then the counts by kind and by failure."""
    rows = [("ENDPOINT", "KIND", "SYSNAME", "DESCRIPTION", "CI")]
    for device in result.found:
        rows.append(_row(device, (registered or {}).get((device.address, device.port), "")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                       ).rstrip() for row in rows]
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(result.kinds().items())) or "none"
    lines.append(f"{len(result.found)} of {result.asked} endpoints answered: {kinds}")
    if result.failures:
        failed = ", ".join(f"{n} {kind}" for kind, n in sorted(result.failures.items()))
        lines.append(f"no answer: {failed}")
    return "\n".join(lines) + "\n"


def _row(device: FoundDevice, ci_id: str) -> tuple[str, str, str, str, str]:
    descr = device.sys_descr.replace("\n", " ")
    if len(descr) > 48:
        descr = descr[:45] + "..."
    return (f"{device.address}:{device.port}", device.kind.value, device.sys_name or "-",
            descr or "-", ci_id or "-")
