"""`GET /v1/kpis`: service-desk KPIs over a window (see `rules.kpis`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel

from api.auth import Operator
from api.deps import StoreDep
from api.problems import Problem
from rules.kpis import kpis

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])
DEFAULT_WINDOW = timedelta(days=7)
LONGEST_WINDOW = timedelta(days=366)


class NoisyOut(BaseModel):
    key: str
    name: str
    incidents: int
    occurrences: int


class CompressionOut(BaseModel):
    """Payloads received (agent reports; alerts and events) per incident opened and
    per root incident."""

    received: int
    reports: int
    events: int
    incidents_opened: int
    roots: int
    children: int
    per_incident: float | None
    per_root: float | None


class KpisOut(BaseModel):
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
    noisiest_cis: list[NoisyOut]
    noisiest_rules: list[NoisyOut]
    compression: CompressionOut | None


@router.get("", response_model=KpisOut)
def get_kpis(
    _: Operator, store: StoreDep, request: Request,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> KpisOut:
    """KPIs of [from, to); `to` defaults to now, `from` to a week before `to`."""
    until = end or request.app.state.clock()
    since = start or until - DEFAULT_WINDOW
    if not since < until:
        raise Problem(422, "Invalid request", "from: must be before to",
                      errors=[{"loc": "from", "msg": "must be before to"}])
    if until - since > LONGEST_WINDOW:
        raise Problem(422, "Invalid request", "from: the window is longer than 366 days",
                      errors=[{"loc": "from", "msg": "the window is longer than 366 days"}])
    found = kpis(store, since, until)
    return KpisOut.model_validate(found, from_attributes=True)
