"""`POST /v1/sync/{receiver}`: a ticketing system reports what happened to the ticket
it holds for one of our incidents (acknowledged, resolved, closed, commented). It
authenticates with the receiver's own inbound secret, not an opsgraph token. See
`rules.notify.sync` for the body each receiver type sends.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.audit import mark_audited
from api.body import read_body
from api.deps import deliveries
from api.problems import Problem
from rules.actions import IllegalTransition, IncidentActions, StaleVersion
from rules.notify.settings import ReceiverSettings
from rules.notify.sync import (
    InboundSync,
    InboundUnauthorized,
    MalformedInbound,
    UnknownTicket,
    authenticate,
    inbound_change,
)

PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
router = APIRouter(prefix="/v1/sync", tags=["notifications"], responses={
    401: {"description": "no or wrong inbound secret or signature", **PROBLEM},
    404: {"description": "no such receiver, or no incident behind the ticket", **PROBLEM},
    409: {"description": "the change does not apply to the incident's state", **PROBLEM},
    422: {"description": "the body is not what the receiver type sends", **PROBLEM},
})


class SyncOut(BaseModel):
    """The incident after the change; `applied` empty when it already showed it."""

    incident_id: str
    state: str
    version: int
    applied: list[str]


def _receiver(request: Request, receiver: Annotated[str, Path(max_length=100)]
              ) -> ReceiverSettings:
    receivers: dict[str, ReceiverSettings] = getattr(request.app.state, "receivers", {})
    if receiver not in receivers:
        raise Problem(404, "Not found", f"no receiver named {receiver!r}")
    return receivers[receiver]


ReceiverDep = Annotated[ReceiverSettings, Depends(_receiver)]


@router.post("/{receiver}", response_model=SyncOut)
async def sync(settings: ReceiverDep, request: Request) -> SyncOut:
    """Apply what the receiver's system reports, as actor `receiver:<name>`, without
    notifying that receiver of it; a repeat is a no-op."""
    body = await read_body(request, request.app.state.settings.max_body_bytes)
    try:
        authenticate(settings, request.headers, body)
        try:
            document = json.loads(body)
        except ValueError:
            raise MalformedInbound("body", "is not JSON") from None
        change = inbound_change(settings, document)
        actions: IncidentActions = request.app.state.actions
        service = InboundSync(request.app.state.store, actions, deliveries(request))
        result = await run_in_threadpool(service.apply, settings.name, change)
    except InboundUnauthorized as exc:
        raise Problem(401, "Unauthorized", str(exc)) from None
    except MalformedInbound as exc:
        raise Problem(422, "Unprocessable content", str(exc), field=exc.field) from None
    except UnknownTicket as exc:
        raise Problem(404, "Not found", str(exc)) from None
    except (IllegalTransition, StaleVersion) as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    mark_audited(request)
    incident = result.incident
    return SyncOut(incident_id=incident.id, state=incident.state, version=incident.version,
                   applied=list(result.applied))
