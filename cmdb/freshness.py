"""Staleness: CIs nobody has seen for a while become `stale`, later `retired`.
Nothing is deleted; every status change is recorded in the CI's history, and the
next sighting makes the CI `active` again."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cmdb.classes import ci_class
from cmdb.records import AttributeChange, CIStatus
from cmdb.store import GraphStore, WriteTx

POLICY_SOURCE = "policy:freshness"


@dataclass(frozen=True, slots=True)
class AgeOut:
    stale: int
    retired: int


def age_out(store: GraphStore, now: datetime, stale_after: timedelta,
            retire_after: timedelta) -> AgeOut:
    """Mark CIs unseen for `stale_after` stale and those unseen for `retire_after`
    retired, in one transaction."""
    if retire_after <= stale_after:
        raise ValueError("retire_after must be longer than stale_after")

    def work(tx: WriteTx) -> AgeOut:
        retired = _move(tx, "stale", "retired", now - retire_after, now)
        stale = _move(tx, "active", "stale", now - stale_after, now)
        return AgeOut(stale=stale, retired=retired)

    return store.write(work)


def _move(tx: WriteTx, old: CIStatus, new: CIStatus, cutoff: datetime, now: datetime) -> int:
    # Applications, services and other modelled CIs are not discovered, so not "seen".
    cis = [ci for ci in tx.cis_last_seen_before(cutoff, old)
           if ci_class(ci.ci_class).discoverable]
    tx.save_cis([replace(ci, status=new, updated_at=now) for ci in cis])
    tx.add_history([AttributeChange(ci.id, "status", old, new, POLICY_SOURCE, now)
                    for ci in cis])
    return len(cis)
