"""Records to flat primitive rows and back, shared by both stores.

Neo4j properties and SQLite columns both hold only primitives, so maps and lists
travel as JSON text and times as RFC 3339 strings in UTC.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from cmdb.records import (
    ApiToken,
    AttributeChange,
    CIStatus,
    ConfigurationItem,
    Incident,
    IncidentEvent,
    IncidentState,
    ReconcileConflict,
    Relationship,
    RuleState,
)

Row = dict[str, Any]


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def opt_iso(at: datetime | None) -> str | None:
    return None if at is None else iso(at)


def opt_from_iso(text: str | None) -> datetime | None:
    return None if text is None else from_iso(text)


def dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def ci_row(ci: ConfigurationItem) -> Row:
    return {
        "id": ci.id,
        "ci_class": ci.ci_class,
        "name": ci.name,
        "attributes": dumps(ci.attributes),
        "attribute_sources": dumps(ci.attribute_sources),
        "sources": dumps({s: iso(t) for s, t in ci.sources.items()}),
        "status": ci.status,
        "created_at": iso(ci.created_at),
        "updated_at": iso(ci.updated_at),
        "last_seen": iso(ci.last_seen),
    }


def ci_from_row(row: Mapping[str, Any], keys: tuple[str, ...] = ()) -> ConfigurationItem:
    return ConfigurationItem(
        id=row["id"],
        ci_class=row["ci_class"],
        name=row["name"],
        attributes=json.loads(row["attributes"]),
        attribute_sources=json.loads(row["attribute_sources"]),
        sources={s: from_iso(t) for s, t in json.loads(row["sources"]).items()},
        status=cast(CIStatus, row["status"]),
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
        last_seen=from_iso(row["last_seen"]),
        identity_keys=keys,
    )


def relationship_row(rel: Relationship) -> Row:
    return {
        "from_id": rel.from_id,
        "type": rel.type,
        "to_id": rel.to_id,
        "properties": dumps(rel.properties),
        "sources": dumps({s: iso(t) for s, t in rel.sources.items()}),
        "last_seen": opt_iso(rel.last_seen),
    }


def relationship_from_row(row: Mapping[str, Any]) -> Relationship:
    return Relationship(
        from_id=row["from_id"],
        type=row["type"],
        to_id=row["to_id"],
        properties=json.loads(row["properties"]),
        sources={s: from_iso(t) for s, t in json.loads(row["sources"]).items()},
        last_seen=opt_from_iso(row.get("last_seen")),
    )


def change_row(change: AttributeChange) -> Row:
    return {
        "ci_id": change.ci_id,
        "attribute": change.attribute,
        "old": dumps(change.old),
        "new": dumps(change.new),
        "source": change.source,
        "at": iso(change.at),
    }


def change_from_row(row: Mapping[str, Any]) -> AttributeChange:
    return AttributeChange(
        ci_id=row["ci_id"],
        attribute=row["attribute"],
        old=json.loads(row["old"]),
        new=json.loads(row["new"]),
        source=row["source"],
        at=from_iso(row["at"]),
    )


def conflict_row(conflict: ReconcileConflict) -> Row:
    return {
        "source": conflict.source,
        "chosen_ci_id": conflict.chosen_ci_id,
        "other_ci_id": conflict.other_ci_id,
        "key": conflict.key,
        "at": iso(conflict.at),
    }


def conflict_from_row(row: Mapping[str, Any]) -> ReconcileConflict:
    return ReconcileConflict(
        source=row["source"],
        chosen_ci_id=row["chosen_ci_id"],
        other_ci_id=row["other_ci_id"],
        key=row["key"],
        at=from_iso(row["at"]),
    )


_INCIDENT_DETAILS = ("description", "urgency", "priority_reasons", "caused_by", "held_until",
                     "notified", "last_notified_at", "suppressed_by", "assignee", "receivers",
                     "acknowledged_at", "closed_at", "reopen_count", "sla_emitted")
_INCIDENT_TIMES = frozenset({"held_until", "last_notified_at", "acknowledged_at", "closed_at"})


def incident_row(incident: Incident) -> Row:
    """Queried fields as columns/properties; the rest as one JSON `details` value."""
    details = {}
    for name in _INCIDENT_DETAILS:
        value = getattr(incident, name)
        details[name] = opt_iso(value) if name in _INCIDENT_TIMES else value
    return {
        "id": incident.id,
        "fingerprint": incident.fingerprint,
        "open_fingerprint": incident.fingerprint if incident.is_open else None,
        "rule": incident.rule,
        "ci_id": incident.ci_id,
        "state": incident.state,
        "severity": incident.severity,
        "summary": incident.summary,
        "opened_at": iso(incident.opened_at),
        "last_seen": iso(incident.last_seen),
        "resolved_at": opt_iso(incident.resolved_at),
        "occurrences": incident.occurrences,
        "value": incident.value,
        "labels": dumps(incident.labels),
        "parent_id": incident.parent_id,
        "priority": incident.priority,
        "assignment_group": incident.assignment_group,
        "flapping": incident.flapping,
        "due_at": opt_iso(incident.due_at),
        "version": incident.version,
        "details": dumps(details),
    }


def incident_from_row(row: Mapping[str, Any]) -> Incident:
    details = json.loads(row.get("details") or "{}")
    extra: dict[str, Any] = {}
    for name in _INCIDENT_DETAILS:
        if name not in details:
            continue
        value = details[name]
        if name in _INCIDENT_TIMES:
            value = opt_from_iso(value)
        elif name in ("priority_reasons", "receivers", "sla_emitted"):
            value = tuple(value)
        elif name == "caused_by":
            value = tuple((str(a), str(b)) for a, b in value)
        extra[name] = value
    return Incident(
        id=row["id"],
        fingerprint=row["fingerprint"],
        rule=row["rule"],
        ci_id=row["ci_id"],
        state=cast(IncidentState, row["state"]),
        severity=row["severity"],
        summary=row["summary"],
        opened_at=from_iso(row["opened_at"]),
        last_seen=from_iso(row["last_seen"]),
        occurrences=int(row["occurrences"]),
        resolved_at=opt_from_iso(row.get("resolved_at")),
        value=row.get("value"),
        labels=json.loads(row["labels"]),
        parent_id=row.get("parent_id"),
        priority=int(row.get("priority") or 5),
        assignment_group=row.get("assignment_group"),
        flapping=bool(row.get("flapping")),
        due_at=opt_from_iso(row.get("due_at")),
        version=int(row.get("version") or 1),
        **extra,
    )


def event_row(event: IncidentEvent) -> Row:
    return {"incident_id": event.incident_id, "at": iso(event.at), "kind": event.kind,
            "actor": event.actor, "detail": dumps(event.detail)}


def event_from_row(row: Mapping[str, Any]) -> IncidentEvent:
    return IncidentEvent(row["incident_id"], from_iso(row["at"]), row["kind"], row["actor"],
                         json.loads(row["detail"]))


def rule_state_row(state: RuleState) -> Row:
    return {"fingerprint": state.fingerprint, "rule": state.rule, "ci_id": state.ci_id,
            "data": dumps(state.data), "due_at": opt_iso(state.due_at)}


def rule_state_from_row(row: Mapping[str, Any]) -> RuleState:
    return RuleState(row["fingerprint"], row["rule"], row["ci_id"], json.loads(row["data"]),
                     opt_from_iso(row.get("due_at")))


def token_row(token: ApiToken) -> Row:
    return {
        "token_hash": token.token_hash,
        "role": token.role,
        "name": token.name,
        "agent_id": token.agent_id,
        "created_at": iso(token.created_at),
    }


def token_from_row(row: Mapping[str, Any]) -> ApiToken:
    return ApiToken(
        token_hash=row["token_hash"],
        role=row["role"],
        name=row["name"],
        agent_id=row["agent_id"],
        created_at=from_iso(row["created_at"]),
    )
