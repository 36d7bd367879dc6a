"""Apply the core's decisions to the store inside the caller's transaction, writing
each incident change and its outbound notification (the outbox) together, so that
nothing is decided without being delivered."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from cmdb.records import Incident
from cmdb.store import OutboxEntry, WriteTx
from rules.decisions import (
    Decision,
    OpenIncident,
    RecurIncident,
    ResolveIncident,
    StartPending,
    StopPending,
)
from rules.engine import EngineState


def load_state(tx: WriteTx, fingerprints: Sequence[str]) -> EngineState:
    """The part of the engine's state that `fingerprints` need, read in `tx`."""
    return EngineState(pending=tx.pending(fingerprints),
                       open=set(tx.open_incidents(fingerprints)))


Route = Callable[[Incident], Sequence[str]]


def no_receivers(incident: Incident) -> Sequence[str]:
    return ()


def apply(tx: WriteTx, decisions: Sequence[Decision], route: Route = no_receivers
          ) -> list[Incident]:
    """Write `decisions`, and one outbox entry per receiver `route` names for each
    incident opened or resolved; returns those incidents."""
    fingerprints = sorted({d.fingerprint for d in decisions})
    open_now = tx.open_incidents(fingerprints)
    changed: list[Incident] = []
    outbox: list[OutboxEntry] = []
    for decision in decisions:
        match decision:
            case StartPending(fp, ci_id, since):
                tx.set_pending(fp, ci_id, since)
            case StopPending(fp):
                tx.set_pending(fp, "", None)
            case OpenIncident():
                incident = _open(tx, decision, open_now)
                open_now[decision.fingerprint] = incident
                if incident.occurrences == 1:
                    changed.append(incident)
                    outbox.extend(_notifications(incident, "opened", route))
            case RecurIncident(fp, value, at) if fp in open_now:
                open_now[fp] = _recur(tx, open_now[fp], value, at)
            case ResolveIncident(fp, value, at) if fp in open_now:
                resolved = replace(open_now.pop(fp), state="resolved", resolved_at=at,
                                   last_seen=at, value=value)
                tx.update_incident(resolved)
                changed.append(resolved)
                outbox.extend(_notifications(resolved, "resolved", route))
    tx.enqueue(outbox)
    return changed


def _open(tx: WriteTx, decision: OpenIncident, open_now: dict[str, Incident]) -> Incident:
    existing = open_now.get(decision.fingerprint)
    if existing is not None:
        # Another writer opened it first: this is a repeat, not a second incident.
        return _recur(tx, existing, decision.value, decision.at)
    incident = Incident(
        id=str(uuid.uuid4()),
        fingerprint=decision.fingerprint,
        rule=decision.rule,
        ci_id=decision.ci_id,
        state="open",
        severity=decision.severity,
        summary=decision.summary,
        opened_at=decision.at,
        last_seen=decision.at,
        occurrences=1,
        value=decision.value,
        labels=dict(decision.labels),
    )
    # A concurrent writer may have opened it meanwhile: insert raises UniquenessConflict
    # and the store retries the whole transaction, which then sees it open.
    tx.insert_incident(incident)
    return incident


def _recur(tx: WriteTx, incident: Incident, value: float | None, at: datetime) -> Incident:
    updated = replace(incident, occurrences=incident.occurrences + 1,
                      last_seen=max(incident.last_seen, at), value=value)
    tx.update_incident(updated)
    return updated


def _notifications(incident: Incident, event: str, route: Route) -> list[OutboxEntry]:
    payload = notification_payload(incident, event)
    at = incident.resolved_at or incident.opened_at
    return [OutboxEntry(str(uuid.uuid4()), incident.id, receiver, event, at, payload)
            for receiver in route(incident)]


def notification_payload(incident: Incident, event: str) -> dict[str, object]:
    """What a receiver is told: the event and a snapshot of the incident then."""
    return {
        "event": event,
        "incident": {
            "id": incident.id,
            "fingerprint": incident.fingerprint,
            "rule": incident.rule,
            "ci_id": incident.ci_id,
            "state": incident.state,
            "severity": incident.severity,
            "summary": incident.summary,
            "opened_at": incident.opened_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "occurrences": incident.occurrences,
            "value": incident.value,
            "labels": dict(incident.labels),
        },
    }
