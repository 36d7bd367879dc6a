"""Identification and reconciliation: inventory from any source onto one CI.

For each inventory the strongest usable identity key that is already owned names
the CI; if none is owned a new CI is created. Attributes merge by per-source
precedence (a source never overwrites what a more trusted source set), every change
is recorded with its source and time, and evidence that names two different CIs is
recorded as a conflict instead of being merged.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from cmdb.classes import ci_class
from cmdb.identity import identity_keys, key_strength
from cmdb.records import AttributeChange, ConfigurationItem, ReconcileConflict, Reconciliation
from cmdb.store import GraphStore, WriteTx
from collector.observation import Inventory

# Higher wins. Operators' own statements beat discovery; agents see more than SNMP.
SOURCE_PRECEDENCE: dict[str, int] = {
    "api": 100,
    "import": 90,
    "agent": 80,
    "snmp": 60,
    "alertmanager": 30,
    "event": 20,
}

_NAME_ATTRIBUTES = ("name", "fqdn", "hostname", "sys_name", "address")


def precedence(source: str) -> int:
    return SOURCE_PRECEDENCE.get(source.split(":", 1)[0], 10)


def display_name(attributes: Mapping[str, object], fallback: str) -> str:
    for attribute in _NAME_ATTRIBUTES:
        value = attributes.get(attribute)
        if isinstance(value, str) and value:
            return value
    return fallback


def reconcile(store: GraphStore, inventories: Sequence[Inventory], now: datetime
              ) -> list[Reconciliation]:
    """Reconcile a batch of inventories in one transaction; one result per inventory."""
    for inventory in inventories:
        ci_class(inventory.ci_class)  # refuse undeclared classes before writing anything
    return store.write(lambda tx: reconcile_in(tx, inventories, now))


def reconcile_in(tx: WriteTx, inventories: Sequence[Inventory], now: datetime
                 ) -> list[Reconciliation]:
    keys_per_inventory = [identity_keys(i.ci_class, i.identity) for i in inventories]
    owners = tx.cis_by_keys(sorted({k for keys in keys_per_inventory for k in keys}))
    known = tx.load_cis(sorted(set(owners.values())))
    results: list[Reconciliation] = []
    touched: dict[str, ConfigurationItem] = {}
    new_keys: list[tuple[str, str]] = []
    history: list[AttributeChange] = []
    conflicts: list[ReconcileConflict] = []
    for inventory, keys in zip(inventories, keys_per_inventory, strict=True):
        seen = inventory.seen_at or now
        keys, shared = _without_shared_uuid(keys, owners, known)
        ci_id, found_conflicts = _identify(keys, owners, inventory.source, seen)
        current = known.get(ci_id) if ci_id else None
        if ci_id is None or current is None:
            ci_id = ci_id or str(uuid.uuid4())
            current = _new_ci(ci_id, inventory, seen)
        created = not current.sources
        merged, changes = merge(current, inventory, seen)
        known[ci_id] = merged
        if created or changes or _worth_saving(current, merged):
            touched[ci_id] = merged
        for key in keys:
            if key not in owners:
                owners[key] = ci_id
                new_keys.append((key, ci_id))
        history.extend(changes)
        found_conflicts += [ReconcileConflict(inventory.source, ci_id, owners[k], k, seen)
                            for k in shared]
        conflicts.extend(found_conflicts)
        results.append(Reconciliation(ci_id, created, tuple(changes), tuple(found_conflicts),
                                      merged))
    tx.save_cis(list(touched.values()))
    tx.attach_keys(new_keys)
    tx.add_history(history)
    tx.add_conflicts(conflicts)
    return results


# A CI seen again with nothing new is rewritten at most this often: `last_seen` is
# kept to the minute, not per report, which spares the store a write per agent report.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def _worth_saving(before: ConfigurationItem, after: ConfigurationItem) -> bool:
    if before.status != after.status or set(before.sources) != set(after.sources):
        return True
    return any(after.sources[s] - before.sources[s] >= LAST_SEEN_RESOLUTION
               for s in after.sources)


def _without_shared_uuid(keys: list[str], owners: Mapping[str, str],
                        known: Mapping[str, ConfigurationItem]) -> tuple[list[str], list[str]]:
    """Drop a UUID already owned by a CI with another serial: cloned VMs and some
    firmware share one SMBIOS UUID, so the serial, the stronger key, decides."""
    serials = [k.split(":", 1)[1] for k in keys if k.startswith("serial:")]
    if not serials:
        return keys, []
    shared = []
    for key in keys:
        owner = known.get(owners.get(key, "")) if key.startswith("uuid:") else None
        owner_serial = owner.attributes.get("serial") if owner else None
        if isinstance(owner_serial, str) and owner_serial.strip().upper() not in serials:
            shared.append(key)
    return [k for k in keys if k not in shared], shared


def _identify(keys: Sequence[str], owners: Mapping[str, str], source: str, at: datetime
              ) -> tuple[str | None, list[ReconcileConflict]]:
    """The CI named by the strongest owned key, and a conflict per other CI named."""
    owned = sorted((k for k in keys if k in owners), key=key_strength, reverse=True)
    if not owned:
        return None, []
    chosen = owners[owned[0]]
    conflicts = [
        ReconcileConflict(source, chosen, owners[key], key, at)
        for key in owned[1:]
        if owners[key] != chosen
    ]
    return chosen, conflicts


def _new_ci(ci_id: str, inventory: Inventory, at: datetime) -> ConfigurationItem:
    return ConfigurationItem(
        id=ci_id,
        ci_class=inventory.ci_class,
        name=display_name(inventory.attributes, ci_id),
        attributes={},
        attribute_sources={},
        sources={},
        status="active",
        created_at=at,
        updated_at=at,
        last_seen=at,
    )


def merge(current: ConfigurationItem, inventory: Inventory, at: datetime
          ) -> tuple[ConfigurationItem, list[AttributeChange]]:
    """`current` with `inventory`'s attributes merged in by source precedence."""
    attributes = dict(current.attributes)
    owners = dict(current.attribute_sources)
    changes: list[AttributeChange] = []
    rank = precedence(inventory.source)
    for name, value in inventory.attributes.items():
        if value is None:
            continue
        owner = owners.get(name)
        if owner is not None and owner != inventory.source and precedence(owner) > rank:
            continue
        old = attributes.get(name)
        owners[name] = inventory.source
        if old != value:
            attributes[name] = value
            changes.append(AttributeChange(current.id, name, old, value, inventory.source, at))
    if current.status != "active":
        changes.append(AttributeChange(current.id, "status", current.status, "active",
                                       inventory.source, at))
    sources = {**current.sources, inventory.source: max(at, current.sources.get(
        inventory.source, at))}
    merged = replace(
        current,
        name=display_name(attributes, current.name),
        attributes=attributes,
        attribute_sources=owners,
        sources=sources,
        status="active",
        updated_at=at if changes else current.updated_at,
        last_seen=max(current.last_seen, at),
    )
    return merged, changes
