"""`POST /v1/incidents/{id}/{action}`: what operators do to incidents.

Optimistic concurrency: `GET /v1/incidents/{id}` and every action answer with
`ETag: "<version>"`; every action requires `If-Match` with that tag (428 without
it, 412 when the incident changed since — re-read it and decide again). Illegal
transitions are 409 naming the state. See `rules.actions` for the lifecycle.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.audit import mark_audited
from api.auth import Operator, Principal
from api.problems import Problem
from api.routers.incidents import IncidentOut
from cmdb.records import Incident
from rules.actions import (
    Actor,
    IllegalTransition,
    IncidentActions,
    IncidentNotFound,
    StaleVersion,
)

PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
router = APIRouter(prefix="/v1/incidents", tags=["incidents"], responses={
    401: {"description": "no or unknown token", **PROBLEM},
    403: {"description": "the token's role may not act on incidents", **PROBLEM},
    404: {"description": "no such incident", **PROBLEM},
    409: {"description": "the action does not apply to the incident's state", **PROBLEM},
    412: {"description": "If-Match names a version that is no longer current", **PROBLEM},
    428: {"description": "If-Match is missing", **PROBLEM},
})
_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$')


class Note(BaseModel):
    """An optional note recorded in the timeline with the action."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=4000)


class Assignment(BaseModel):
    """Who works on it: an assignee, an assignment group, or both."""

    model_config = ConfigDict(extra="forbid")
    assignee: str | None = Field(None, min_length=1, max_length=200)
    assignment_group: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.assignee is None and self.assignment_group is None:
            raise ValueError("name an assignee, an assignment_group or both")
        return self


class Comment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)


def _actions(request: Request) -> IncidentActions:
    actions: IncidentActions = request.app.state.actions
    return actions


ActionsDep = Annotated[IncidentActions, Depends(_actions)]
IncidentId = Annotated[str, Path(max_length=200)]


def expected_version(if_match: Annotated[str | None, Header(
        alias="If-Match", description='the ETag last read, e.g. "3"')] = None) -> int:
    """The version the caller last saw, from `If-Match`."""
    if if_match is None or not if_match.strip():
        raise Problem(428, "Precondition required",
                      'send If-Match with the incident\'s ETag, e.g. If-Match: "3"')
    match = _ETAG.match(if_match)
    if match is None:
        raise Problem(412, "Precondition failed",
                      f"If-Match {if_match[:40]!r} names no incident version")
    return int(match.group(1))


Version = Annotated[int, Depends(expected_version)]


def etag(incident: Incident) -> str:
    return f'"{incident.version}"'


@contextmanager
def _answers(request: Request) -> Iterator[None]:
    """Domain outcomes of an action as HTTP answers; the action audited itself."""
    try:
        yield
    except IncidentNotFound as exc:
        raise Problem(404, "Not found", str(exc)) from None
    except StaleVersion as exc:
        raise Problem(412, "Precondition failed", str(exc), version=exc.current) from None
    except IllegalTransition as exc:
        raise Problem(409, "Conflict", str(exc), state=exc.state) from None
    mark_audited(request)


def _done(response: Response, incident: Incident) -> IncidentOut:
    response.headers["ETag"] = etag(incident)
    return IncidentOut.of(incident)


def _actor(principal: Principal) -> Actor:
    return Actor(principal.name, principal.role)


def _note(body: Note | None) -> str | None:
    return body.note if body is not None else None


@router.post("/{incident_id}/acknowledge", response_model=IncidentOut)
def acknowledge(principal: Operator, incident_id: IncidentId, version: Version,
                actions: ActionsDep, request: Request, response: Response,
                body: Note | None = None) -> IncidentOut:
    """new/reopened -> acknowledged; notified to the incident's receivers."""
    with _answers(request):
        done = actions.acknowledge(incident_id, version, _actor(principal), _note(body))
    return _done(response, done)


@router.post("/{incident_id}/assign", response_model=IncidentOut)
def assign(principal: Operator, incident_id: IncidentId, version: Version,
           actions: ActionsDep, request: Request, response: Response,
           body: Assignment) -> IncidentOut:
    """Set assignee and/or assignment group; an assignee takes it to in_progress."""
    with _answers(request):
        done = actions.assign(incident_id, version, _actor(principal), body.assignee,
                              body.assignment_group)
    return _done(response, done)


@router.post("/{incident_id}/comment", response_model=IncidentOut)
def comment(principal: Operator, incident_id: IncidentId, version: Version,
            actions: ActionsDep, request: Request, response: Response,
            body: Comment) -> IncidentOut:
    """Add a comment to the timeline (any state)."""
    with _answers(request):
        done = actions.comment(incident_id, version, _actor(principal), body.text)
    return _done(response, done)


@router.post("/{incident_id}/resolve", response_model=IncidentOut)
def resolve(principal: Operator, incident_id: IncidentId, version: Version,
            actions: ActionsDep, request: Request, response: Response,
            body: Note | None = None) -> IncidentOut:
    """Any open state -> resolved; notified; the engine does not reopen it while the
    condition still holds within the reopen window (see `rules.actions`)."""
    with _answers(request):
        done = actions.resolve(incident_id, version, _actor(principal), _note(body))
    return _done(response, done)


@router.post("/{incident_id}/close", response_model=IncidentOut)
def close(principal: Operator, incident_id: IncidentId, version: Version,
          actions: ActionsDep, request: Request, response: Response,
          body: Note | None = None) -> IncidentOut:
    """resolved -> closed (final)."""
    with _answers(request):
        done = actions.close(incident_id, version, _actor(principal), _note(body))
    return _done(response, done)


@router.post("/{incident_id}/reopen", response_model=IncidentOut)
def reopen(principal: Operator, incident_id: IncidentId, version: Version,
           actions: ActionsDep, request: Request, response: Response,
           body: Note | None = None) -> IncidentOut:
    """resolved -> reopened; notified to those who heard it open."""
    with _answers(request):
        done = actions.reopen(incident_id, version, _actor(principal), _note(body))
    return _done(response, done)

