"""Service-desk KPIs over a window [start, end): the figures a service-desk manager
reads each week.

- MTTA: mean time from open to first acknowledgement, over incidents opened in the
  window that were acknowledged. MTTR: mean time from open to resolve, over
  incidents resolved in the window.
- Opened and resolved by priority (`P1`..`P5`) and by assignment group.
- SLA breaches: `sla` timeline events in the window whose checkpoint is a breach,
  by target (response, resolution); SLA compliance: the share of incidents
  resolved in the window that never breached.
- Reopen rate: the share of incidents opened in the window that were reopened.
- Noisiest CIs and rules: incidents opened in the window, then occurrences.
- Compression: reports and events received against incidents opened, and against
  root incidents (children attached to a root are not ticketed on their own).

`compute()` is pure; `kpis()` gathers its inputs from a store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cmdb.records import Incident, IncidentEvent
from cmdb.store import GraphStore

EVENT_SOURCES = ("alertmanager", "event")
TOP = 10


@dataclass(frozen=True, slots=True)
class Received:
    """Payloads claimed in the window: agent reports, and alerts/events."""

    reports: int
    events: int


@dataclass(frozen=True, slots=True)
class Noisy:
    key: str
    name: str
    incidents: int
    occurrences: int


@dataclass(frozen=True, slots=True)
class Compression:
    received: int
    reports: int
    events: int
    incidents_opened: int
    roots: int
    children: int
    per_incident: float | None
    per_root: float | None


@dataclass(frozen=True, slots=True)
class Kpis:
    start: datetime
    end: datetime
    opened: int
    resolved: int
    mtta_seconds: float | None
    mttr_seconds: float | None
    opened_by_priority: dict[str, int]
    resolved_by_priority: dict[str, int]
    opened_by_group: dict[str, int]
    resolved_by_group: dict[str, int]
    sla_breaches: int
    sla_breaches_by_target: dict[str, int]
    sla_compliance: float | None
    reopened: int
    reopen_rate: float | None
    noisiest_cis: list[Noisy] = field(default_factory=list)
    noisiest_rules: list[Noisy] = field(default_factory=list)
    compression: Compression | None = None


def _within(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _noisiest(incidents: Sequence[Incident], key: str, names: Mapping[str, str]
              ) -> list[Noisy]:
    counts: Counter[str] = Counter()
    occurrences: Counter[str] = Counter()
    for incident in incidents:
        counts[getattr(incident, key)] += 1
        occurrences[getattr(incident, key)] += incident.occurrences
    ranked = sorted(counts, key=lambda k: (-counts[k], -occurrences[k], k))[:TOP]
    return [Noisy(k, names.get(k, k), counts[k], occurrences[k]) for k in ranked]


def _breaches(events: Sequence[IncidentEvent]) -> Counter[str]:
    found: Counter[str] = Counter()
    for event in events:
        checkpoint = str(event.detail.get("checkpoint", ""))
        kind, _, target = checkpoint.partition(":")
        if kind == "breach":
            found[target or "unknown"] += 1
    return found


def compute(incidents: Sequence[Incident], sla_events: Sequence[IncidentEvent],
            received: Received, ci_names: Mapping[str, str], start: datetime,
            end: datetime) -> Kpis:
    """The KPIs of [start, end) from incidents opened or resolved in it, the `sla`
    events recorded in it, what was received in it, and the names of CIs."""
    opened = [i for i in incidents if _within(i.opened_at, start, end)]
    resolved = [i for i in incidents if _within(i.resolved_at, start, end)]
    acked = [(i.acknowledged_at - i.opened_at).total_seconds() for i in opened
             if i.acknowledged_at is not None]
    repaired = [(i.resolved_at - i.opened_at).total_seconds() for i in resolved
                if i.resolved_at is not None]
    breaches = _breaches(sla_events)
    breached = sum(1 for i in resolved if any(k.startswith("breach") for k in i.sla_emitted))
    reopened = sum(1 for i in opened if i.reopen_count > 0)
    roots = sum(1 for i in opened if i.parent_id is None)
    total = received.reports + received.events
    return Kpis(
        start=start, end=end, opened=len(opened), resolved=len(resolved),
        mtta_seconds=_mean(acked), mttr_seconds=_mean(repaired),
        opened_by_priority=dict(sorted(Counter(f"P{i.priority}" for i in opened).items())),
        resolved_by_priority=dict(sorted(Counter(f"P{i.priority}" for i in resolved).items())),
        opened_by_group=dict(sorted(Counter(
            i.assignment_group or "(none)" for i in opened).items())),
        resolved_by_group=dict(sorted(Counter(
            i.assignment_group or "(none)" for i in resolved).items())),
        sla_breaches=sum(breaches.values()), sla_breaches_by_target=dict(sorted(breaches.items())),
        sla_compliance=_share(len(resolved) - breached, len(resolved)),
        reopened=reopened, reopen_rate=_share(reopened, len(opened)),
        noisiest_cis=_noisiest(opened, "ci_id", ci_names),
        noisiest_rules=_noisiest(opened, "rule", {}),
        compression=Compression(
            received=total, reports=received.reports, events=received.events,
            incidents_opened=len(opened), roots=roots, children=len(opened) - roots,
            per_incident=total / len(opened) if opened else None,
            per_root=total / roots if roots else None),
    )


def kpis(store: GraphStore, start: datetime, end: datetime) -> Kpis:
    """The KPIs of [start, end), read from `store` in a handful of queries."""
    incidents = store.incidents_between(start, end)
    sla_events = store.incident_events_between(start, end, ["sla"])
    events = store.count_claims(start, end, EVENT_SOURCES)
    received = Received(store.count_claims(start, end) - events, events)
    opened_on = {i.ci_id for i in incidents if _within(i.opened_at, start, end)}
    names = {ci_id: brief.name for ci_id, brief in store.ci_briefs(sorted(opened_on)).items()}
    return compute(incidents, sla_events, received, names, start, end)
