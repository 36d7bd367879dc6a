"""Report dicts for `POST /v1/reports`, and the rule for when to include the inventory."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import uuid
from collections.abc import Sequence
from typing import Any

from agent.inventory import Inventory
from agent.probes.catalog import Sample
from agent.timestamps import rfc3339_utc

Report = dict[str, Any]
MAX_METRICS_PER_REPORT = 2000  # the collector refuses longer lists


@functools.cache
def agent_version() -> str:
    """The installed distribution's version (read once; metadata is slow to import)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("opsgraph")
    except PackageNotFoundError:
        return "0.0.0+unknown"


def metric_entry(sample: Sample) -> dict[str, Any] | None:
    """The report form of a sample; None for a non-finite value, which the collector refuses."""
    if not math.isfinite(sample.value):
        return None
    return {
        "name": sample.name,
        "value": sample.value,
        "unit": sample.unit,
        "labels": dict(sample.labels),
    }


def build_report(
    agent_id: str,
    collected_at: float,
    samples: Sequence[Sample] = (),
    inventory: Inventory | None = None,
) -> Report:
    """One report with a fresh uuid4 `report_id`; with neither part it is a heartbeat."""
    report: Report = {
        "report_id": str(uuid.uuid4()),
        "agent_id": agent_id,
        "agent_version": agent_version(),
        "collected_at": rfc3339_utc(collected_at),
    }
    if inventory is not None:
        report["inventory"] = inventory
    metrics = [entry for entry in map(metric_entry, samples) if entry is not None]
    if metrics:
        report["metrics"] = metrics
    return report


def build_reports(
    agent_id: str,
    collected_at: float,
    samples: Sequence[Sample],
    inventory: Inventory | None = None,
) -> list[Report]:
    """One or more reports (each within the collector's metric limit); inventory in the first."""
    if len(samples) <= MAX_METRICS_PER_REPORT:
        return [build_report(agent_id, collected_at, samples, inventory)]
    reports = []
    for start in range(0, len(samples), MAX_METRICS_PER_REPORT):
        chunk = samples[start : start + MAX_METRICS_PER_REPORT]
        part_inventory = inventory if start == 0 else None
        reports.append(build_report(agent_id, collected_at, chunk, part_inventory))
    return reports


def encode_report(report: Report) -> bytes:
    """The JSON body, compact and UTF-8."""
    return json.dumps(report, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def inventory_fingerprint(inventory: Inventory) -> str:
    """A digest that changes exactly when the inventory's content changes."""
    canonical = json.dumps(inventory, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def changed_fields(before: Inventory | None, after: Inventory) -> list[str]:
    """Top-level inventory keys that differ (added, removed or changed), sorted."""
    if before is None:
        return sorted(after)
    keys = set(before) | set(after)
    return sorted(key for key in keys if before.get(key) != after.get(key))


class InventoryTracker:
    """Decides whether a report carries the inventory: first time, on change, or when due.

    `refresh_seconds` is the longest the collector goes without a full inventory
    (the format asks for at least daily). Times are monotonic seconds.
    """

    def __init__(self, refresh_seconds: float) -> None:
        self._refresh_seconds = refresh_seconds
        self._sent: Inventory | None = None
        self._fingerprint: str | None = None
        self._sent_at: float | None = None

    def should_send(self, inventory: Inventory, now: float) -> bool:
        if self._fingerprint != inventory_fingerprint(inventory):
            return True
        return self._sent_at is None or now - self._sent_at >= self._refresh_seconds

    def changes(self, inventory: Inventory) -> list[str]:
        """What changed since the last sent inventory (for a log line); all keys at first."""
        return changed_fields(self._sent, inventory)

    @property
    def has_sent(self) -> bool:
        return self._sent is not None

    def mark_sent(self, inventory: Inventory, now: float) -> None:
        """Record that `inventory` is in the spool (which will deliver it)."""
        self._sent = inventory
        self._fingerprint = inventory_fingerprint(inventory)
        self._sent_at = now
