"""`/v1/cis`: configuration items, their identity and history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.auth import Operator
from api.deps import StoreDep
from api.problems import Problem
from cmdb.records import AttributeChange, ConfigurationItem
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
