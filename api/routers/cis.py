"""`/v1/cis`: configuration items, their identity and history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.auth import Operator
from api.deps import StoreDep
from api.problems import Problem
from cmdb.impact import ImpactReport, PathStep, dependencies, impact
from cmdb.records import AttributeChange, ConfigurationItem, Relationship
from cmdb.store import CIQuery

router = APIRouter(prefix="/v1/cis", tags=["cis"])


class CIOut(BaseModel):
    id: str
    ci_class: str
    name: str
    status: str
    attributes: dict[str, object]
    attribute_sources: dict[str, str]
    sources: dict[str, datetime]
    identity_keys: list[str]
    created_at: datetime
    updated_at: datetime
    last_seen: datetime

    @classmethod
    def of(cls, ci: ConfigurationItem) -> CIOut:
        return cls(id=ci.id, ci_class=ci.ci_class, name=ci.name, status=ci.status,
                   attributes=ci.attributes, attribute_sources=ci.attribute_sources,
                   sources=ci.sources, identity_keys=list(ci.identity_keys),
                   created_at=ci.created_at, updated_at=ci.updated_at, last_seen=ci.last_seen)


class CIPage(BaseModel):
    items: list[CIOut]
    next_cursor: str | None


class ChangeOut(BaseModel):
    attribute: str
    old: object
    new: object
    source: str
    at: datetime

    @classmethod
    def of(cls, change: AttributeChange) -> ChangeOut:
        return cls(attribute=change.attribute, old=change.old, new=change.new,
                   source=change.source, at=change.at)


class RelationshipOut(BaseModel):
    from_id: str
    type: str
    to_id: str
    properties: dict[str, str | int | float | bool]
    sources: dict[str, datetime]
    last_seen: datetime | None

    @classmethod
    def of(cls, rel: Relationship) -> RelationshipOut:
        return cls(from_id=rel.from_id, type=rel.type, to_id=rel.to_id,
                   properties=rel.properties, sources=rel.sources, last_seen=rel.last_seen)


class StepOut(BaseModel):
    ci_id: str
    relationship: str


class AffectedOut(BaseModel):
    ci_id: str
    name: str
    ci_class: str
    status: str
    depth: int
    path: list[StepOut]


class ServiceOut(BaseModel):
    ci_id: str
    name: str
    status: str
    criticality: str | None
    users: int | None


class ImpactOut(BaseModel):
    """What breaks if the CI fails: affected CIs with the path from the CI to each,
    and the business services reached, `down` or (redundancy left) `degraded`."""

    ci: CIOut
    depth: int
    truncated: bool
    affected: list[AffectedOut]
    business_services: list[ServiceOut]

    @classmethod
    def of(cls, report: ImpactReport) -> ImpactOut:
        return cls(
            ci=CIOut.of(report.root), depth=report.depth, truncated=report.truncated,
            affected=[AffectedOut(ci_id=a.ci_id, name=a.name, ci_class=a.ci_class,
                                  status=a.status, depth=a.depth, path=_steps(a.path))
                      for a in report.affected],
            business_services=[ServiceOut(ci_id=s.ci_id, name=s.name, status=s.status,
                                          criticality=s.criticality, users=s.users)
                               for s in report.services],
        )


class DependencyOut(BaseModel):
    ci_id: str
    name: str
    ci_class: str
    depth: int
    path: list[StepOut]


class DependenciesOut(BaseModel):
    ci: CIOut
    dependencies: list[DependencyOut]


def _steps(path: tuple[PathStep, ...]) -> list[StepOut]:
    return [StepOut(ci_id=s.ci_id, relationship=s.relationship) for s in path]


Depth = Annotated[int, Query(ge=1, le=10, description="how many hops to follow")]


@router.get("", response_model=CIPage)
def list_cis(
    _: Operator,
    store: StoreDep,
    ci_class: Annotated[str | None, Query(alias="class", max_length=64)] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    status: Literal["active", "stale", "retired"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CIPage:
    """CIs ordered by id, filtered; follow `next_cursor` for the next page."""
    page = store.list_cis(CIQuery(ci_class=ci_class, name_contains=name, status=status,
                                  limit=limit, cursor=cursor))
    return CIPage(items=[CIOut.of(ci) for ci in page.items], next_cursor=page.next_cursor)


@router.get("/{ci_id}", response_model=CIOut)
def get_ci(ci_id: str, _: Operator, store: StoreDep) -> CIOut:
    ci = store.get_ci(ci_id)
    if ci is None:
        raise Problem(404, "Not found", f"no CI with id {ci_id!r}")
    return CIOut.of(ci)


@router.get("/{ci_id}/history", response_model=list[ChangeOut])
def ci_history(ci_id: str, _: Operator, store: StoreDep) -> list[ChangeOut]:
    """Every recorded attribute change of the CI, oldest first, with its source."""
    if store.get_ci(ci_id) is None:
        raise Problem(404, "Not found", f"no CI with id {ci_id!r}")
    return [ChangeOut.of(c) for c in store.history(ci_id)]


@router.get("/{ci_id}/relationships", response_model=list[RelationshipOut])
def ci_relationships(ci_id: str, _: Operator, store: StoreDep) -> list[RelationshipOut]:
    """Every relationship starting or ending at the CI."""
    if store.get_ci(ci_id) is None:
        raise Problem(404, "Not found", f"no CI with id {ci_id!r}")
    return [RelationshipOut.of(r) for r in store.relationships(ci_id)]


@router.get("/{ci_id}/impact", response_model=ImpactOut)
def ci_impact(ci_id: str, _: Operator, store: StoreDep, depth: Depth = 6) -> ImpactOut:
    """Everything that depends on the CI, transitively, redundancy-aware."""
    return ImpactOut.of(impact(store, ci_id, depth))


@router.get("/{ci_id}/dependencies", response_model=DependenciesOut)
def ci_dependencies(ci_id: str, _: Operator, store: StoreDep, depth: Depth = 6
                    ) -> DependenciesOut:
    """What the CI relies on, transitively."""
    root, found = dependencies(store, ci_id, depth)
    return DependenciesOut(ci=CIOut.of(root), dependencies=[
        DependencyOut(ci_id=ci.id, name=ci.name, ci_class=ci.ci_class, depth=level,
                      path=_steps(path)) for ci, level, path in found])
