"""`/v1/notifications/dead-letters`: deliveries a receiver refused for good (a 4xx other
than 408/429), with what it answered; an operator requeues one after fixing the cause
or discards it, which releases the incident's later notifications behind it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.audit import record
from api.auth import Operator
from api.deps import StoreDep, deliveries
from api.problems import Problem
from rules.notify.errors import UnknownDelivery

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


class DeadLetterOut(BaseModel):
    outbox_id: str
    incident_id: str
    receiver: str
    event: str
    created_at: datetime
    failed_at: datetime
    attempts: int
    error: str
    status: int | None
    body: str | None


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next_cursor: str | None


@router.get("/dead-letters", response_model=DeadLetterPage)
async def dead_letters(request: Request, _: Operator,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                       cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None
                       ) -> DeadLetterPage:
    page = await run_in_threadpool(lambda: deliveries(request).dead_letters(limit, cursor))
    return DeadLetterPage(items=[DeadLetterOut(
        outbox_id=d.outbox_id, incident_id=d.incident_id, receiver=d.receiver, event=d.event,
        created_at=d.created_at, failed_at=d.failed_at, attempts=d.attempts, error=d.error,
        status=d.status, body=d.body) for d in page.items], next_cursor=page.next_cursor)


async def _settle(request: Request, principal: Operator, store: StoreDep, outbox_id: str,
                  action: str) -> Response:
    state = deliveries(request)
    now = request.app.state.clock()
    work = state.requeue if action == "requeue" else state.discard
    try:
        await run_in_threadpool(work, outbox_id, now)
    except UnknownDelivery:
        raise Problem(404, "Not found", f"no dead letter with id {outbox_id!r}") from None
    await run_in_threadpool(record, store, request, principal, f"notification.{action}",
                            outbox_id, now)
    return Response(status_code=204)


@router.post("/dead-letters/{outbox_id}/requeue", status_code=204)
async def requeue(outbox_id: str, request: Request, principal: Operator, store: StoreDep
                  ) -> Response:
    """Deliver it again (after the cause was fixed)."""
    return await _settle(request, principal, store, outbox_id, "requeue")


@router.post("/dead-letters/{outbox_id}/discard", status_code=204)
async def discard(outbox_id: str, request: Request, principal: Operator, store: StoreDep
                  ) -> Response:
    """Give up on it; the incident's later notifications to that receiver go on."""
    return await _settle(request, principal, store, outbox_id, "discard")
