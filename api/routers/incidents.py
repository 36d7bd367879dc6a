"""`/v1/incidents`: incidents opened by the rules engine."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.auth import Operator
from api.deps import StoreDep
from api.problems import Problem
from cmdb.records import Incident
from cmdb.store import IncidentQuery

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


class IncidentOut(BaseModel):
    id: str
    fingerprint: str
    rule: str
    ci_id: str
    state: str
    severity: str
    summary: str
    opened_at: datetime
    last_seen: datetime
    resolved_at: datetime | None
    occurrences: int
    value: float | None
    labels: dict[str, str]

    @classmethod
    def of(cls, incident: Incident) -> IncidentOut:
        return cls(id=incident.id, fingerprint=incident.fingerprint, rule=incident.rule,
                   ci_id=incident.ci_id, state=incident.state, severity=incident.severity,
                   summary=incident.summary, opened_at=incident.opened_at,
                   last_seen=incident.last_seen, resolved_at=incident.resolved_at,
                   occurrences=incident.occurrences, value=incident.value,
                   labels=incident.labels)


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None


@router.get("", response_model=IncidentPage)
def list_incidents(
    _: Operator,
    store: StoreDep,
    state: Literal["open", "resolved"] | None = None,
    ci_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> IncidentPage:
    page = store.list_incidents(IncidentQuery(state=state, ci_id=ci_id, limit=limit,
                                              cursor=cursor))
    return IncidentPage(items=[IncidentOut.of(i) for i in page.items],
                        next_cursor=page.next_cursor)


@router.get("/{incident_id}", response_model=IncidentOut)
def get_incident(incident_id: str, _: Operator, store: StoreDep) -> IncidentOut:
    incident = store.get_incident(incident_id)
    if incident is None:
        raise Problem(404, "Not found", f"no incident with id {incident_id!r}")
    return IncidentOut.of(incident)
