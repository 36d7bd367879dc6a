"""`GET /v1/audit`: who changed what, when (admin only); see `api.audit`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.auth import Admin
from api.deps import StoreDep
from cmdb.store import AuditQuery, AuditRecord

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class AuditOut(BaseModel):
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    detail: dict[str, object]

    @classmethod
    def of(cls, entry: AuditRecord) -> AuditOut:
        return cls(at=entry.at, actor=entry.actor, role=entry.role, action=entry.action,
                   target=entry.target, detail=entry.detail)


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None


@router.get("", response_model=AuditPage)
def list_audit(
    _: Admin, store: StoreDep,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,19}$")] = None,
) -> AuditPage:
    """The audit trail, newest first; filter by actor (token name) or action."""
    page = store.audit(AuditQuery(actor=actor, action=action, limit=limit, cursor=cursor))
    return AuditPage(items=[AuditOut.of(e) for e in page.items], next_cursor=page.next_cursor)
