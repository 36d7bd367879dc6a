"""`/v1/incidents`: incidents opened by the rules engine."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api.auth import Operator
from api.deps import StoreDep
from api.problems import Problem
from cmdb.records import Incident
from cmdb.store import IncidentQuery

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


class CauseStep(BaseModel):
    ci_id: str
    relationship: str


class IncidentOut(BaseModel):
    """An incident. `parent_id` names the root-cause incident it is attached to (it is
    then not ticketed itself) and `caused_by` the hops from its CI up to that cause.
    `priority_reasons` says why it got its priority."""

    id: str
    fingerprint: str
    rule: str
    ci_id: str
    state: str
    severity: str
    urgency: int
    priority: int
    priority_reasons: list[str]
    summary: str
    description: str
    opened_at: datetime
    last_seen: datetime
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    closed_at: datetime | None
    occurrences: int
    value: float | None
    labels: dict[str, str]
    parent_id: str | None
    caused_by: list[CauseStep]
    flapping: bool
    held_until: datetime | None
    notified: bool
    suppressed_by: str | None
    assignment_group: str | None
    assignee: str | None
    receivers: list[str]
    reopen_count: int
    version: int

    @classmethod
    def of(cls, incident: Incident) -> IncidentOut:
        return cls(
            id=incident.id, fingerprint=incident.fingerprint, rule=incident.rule,
            ci_id=incident.ci_id, state=incident.state, severity=incident.severity,
            urgency=incident.urgency, priority=incident.priority,
            priority_reasons=list(incident.priority_reasons), summary=incident.summary,
            description=incident.description, opened_at=incident.opened_at,
            last_seen=incident.last_seen, resolved_at=incident.resolved_at,
            acknowledged_at=incident.acknowledged_at, closed_at=incident.closed_at,
            occurrences=incident.occurrences, value=incident.value, labels=incident.labels,
            parent_id=incident.parent_id,
            caused_by=[CauseStep(ci_id=c, relationship=r) for c, r in incident.caused_by],
            flapping=incident.flapping, held_until=incident.held_until,
            notified=incident.notified, suppressed_by=incident.suppressed_by,
            assignment_group=incident.assignment_group, assignee=incident.assignee,
            receivers=list(incident.receivers), reopen_count=incident.reopen_count,
            version=incident.version)


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None


@router.get("", response_model=IncidentPage)
def list_incidents(
    _: Operator,
    store: StoreDep,
    state: Literal["open", "new", "acknowledged", "in_progress", "reopened", "resolved",
                   "closed"] | None = None,
    ci_id: Annotated[str | None, Query(max_length=200)] = None,
    priority: Annotated[int | None, Query(ge=1, le=5)] = None,
    assignment_group: Annotated[str | None, Query(max_length=200)] = None,
    parent_id: Annotated[str | None, Query(max_length=200)] = None,
    root_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> IncidentPage:
    """Incidents by id; `state=open` means any open state; `root_only` leaves out
    incidents attached to a root cause."""
    page = store.list_incidents(IncidentQuery(
        state=state, ci_id=ci_id, priority=priority, assignment_group=assignment_group,
        parent_id=parent_id, root_only=root_only, limit=limit, cursor=cursor))
    return IncidentPage(items=[IncidentOut.of(i) for i in page.items],
                        next_cursor=page.next_cursor)


class ChildOut(BaseModel):
    id: str
    ci_id: str
    rule: str
    state: str
    summary: str


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    actor: str
    detail: dict[str, object]


class NotificationOut(BaseModel):
    """An outbox entry queued for the incident (delivery state is the dispatcher's)."""

    id: str
    receiver: str
    event: str
    created_at: datetime


class IncidentDetail(IncidentOut):
    """An incident with the incidents attached to it, its timeline (oldest first) and
    the notifications queued for it. The `ETag` header carries `version` for
    `If-Match` on the actions."""

    children: list[ChildOut]
    timeline: list[TimelineEntry]
    notifications: list[NotificationOut]


@router.get("/{incident_id}", response_model=IncidentDetail)
def get_incident(incident_id: str, _: Operator, store: StoreDep, response: Response
                 ) -> IncidentDetail:
    incident = store.get_incident(incident_id)
    if incident is None:
        raise Problem(404, "Not found", f"no incident with id {incident_id!r}")
    children = store.list_incidents(IncidentQuery(parent_id=incident_id, limit=1000)).items
    response.headers["ETag"] = f'"{incident.version}"'
    return IncidentDetail(
        **IncidentOut.of(incident).model_dump(),
        children=[ChildOut(id=c.id, ci_id=c.ci_id, rule=c.rule, state=c.state,
                           summary=c.summary) for c in children],
        timeline=[TimelineEntry(at=e.at, kind=e.kind, actor=e.actor, detail=e.detail)
                  for e in store.incident_events(incident_id)],
        notifications=[NotificationOut(id=n.id, receiver=n.receiver, event=n.event,
                                       created_at=n.created_at)
                       for n in store.outbox_for(incident_id)])
