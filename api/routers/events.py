"""`POST /v1/events`: generic events (PagerDuty-like; see `collector.event_model`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.auth import Integration
from api.body import parse_json, read_body, request_body
from api.deps import TelemetryDep
from collector.event_model import GenericEvent
from collector.events import EventIntake, EventResult, EventSignal, HostBinding, event_signal

router = APIRouter(prefix="/v1", tags=["intake"])


class EventsAccepted(BaseModel):
    """What intake did: alerts/events evaluated, repeats ignored, alerts with no host
    label (by fingerprint or dedup key), and the CI each bound alert landed on."""

    accepted: int
    duplicates: int
    unbound: list[str]
    ci_ids: dict[str, str]


def _intake(request: Request) -> EventIntake:
    intake: EventIntake = request.app.state.events
    return intake


EventIntakeDep = Annotated[EventIntake, Depends(_intake)]


def binding(request: Request) -> HostBinding:
    settings = request.app.state.settings
    return HostBinding(tuple(settings.alert_host_labels), settings.alert_class_label)


async def accept(request: Request, intake: EventIntake, telemetry: TelemetryDep,
                 signals: list[EventSignal], source: str) -> EventsAccepted:
    result: EventResult = await run_in_threadpool(intake.accept, signals)
    for outcome, count in (("accepted", result.accepted), ("duplicate", result.duplicates),
                           ("unbound", len(result.unbound))):
        if count:
            telemetry.events.labels(source=source, outcome=outcome).inc(count)
    telemetry.incident_changes.inc(result.incidents_changed)
    return EventsAccepted(accepted=result.accepted, duplicates=result.duplicates,
                          unbound=list(result.unbound), ci_ids=result.ci_ids)


@router.post("/events", status_code=202, response_model=EventsAccepted,
             openapi_extra=request_body(GenericEvent))
async def post_event(request: Request, _: Integration, intake: EventIntakeDep,
                     telemetry: TelemetryDep) -> EventsAccepted:
    """One event: `trigger` fires the incident its `dedup_key` names (on the CI its
    `source`/`host` names), `resolve` clears it. Roles: integration, admin."""
    raw = await read_body(request, request.app.state.settings.max_body_bytes)
    event = GenericEvent.model_validate(parse_json(raw))
    return await accept(request, intake, telemetry, [event_signal(event, binding(request))],
                        "event")
