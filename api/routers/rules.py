"""`/v1/rules`: the rules the server evaluates; validate a rules file; reload it.

A reload reads the server's rules file again. A file that does not validate is
refused (422 naming file, line, rule and field) and the rules already loaded keep
running — the swap happens only after the whole file validated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.audit import record
from api.auth import Admin, Operator
from api.body import read_body
from api.deps import StoreDep
from api.problems import Problem
from rules.book import RuleBook
from rules.errors import RuleConfigError
from rules.loader import parse_rules
from rules.model import Rule

router = APIRouter(prefix="/v1/rules", tags=["rules"])
YAML_BODY = {"requestBody": {"required": True, "content": {
    media: {"schema": {"type": "string"}} for media in ("application/yaml", "text/plain")}}}


class ScopeOut(BaseModel):
    ci_classes: list[str]
    attributes: dict[str, str]
    locations: list[str]
    labels: dict[str, str]


class RuleOut(BaseModel):
    """A rule as the engine runs it (durations in seconds)."""

    name: str
    kind: str
    metric: str
    severity: str
    urgency: int
    summary: str
    description: str
    when: str | None
    clear: str | None
    states: list[str]
    for_seconds: float
    clear_for_seconds: float
    scope: ScopeOut
    failure_mode: list[str]
    labels: dict[str, str]
    root_cause: bool

    @classmethod
    def of(cls, rule: Rule) -> RuleOut:
        return cls(
            name=rule.name, kind=rule.kind, metric=rule.metric, severity=rule.severity,
            urgency=rule.urgency, summary=rule.summary, description=rule.description,
            when=str(rule.when) if rule.when else None,
            clear=str(rule.clear) if rule.clear else None, states=sorted(rule.states),
            for_seconds=rule.for_.total_seconds(),
            clear_for_seconds=rule.clear_for.total_seconds(),
            scope=ScopeOut(ci_classes=sorted(rule.scope.ci_classes),
                           attributes=dict(rule.scope.attributes),
                           locations=sorted(rule.scope.locations),
                           labels=dict(rule.scope.labels)),
            failure_mode=list(rule.failure_mode), labels=dict(rule.labels),
            root_cause=rule.root_cause)


class RulePage(BaseModel):
    path: str | None
    items: list[RuleOut]
    next_cursor: str | None


class RulesChecked(BaseModel):
    valid: bool
    rules: int
    names: list[str]


class RulesReloaded(BaseModel):
    path: str
    rules: int
    previous: int


def _book(request: Request) -> RuleBook:
    book: RuleBook = request.app.state.rules
    return book


def invalid(exc: RuleConfigError) -> Problem:
    return Problem(422, "Invalid rules", str(exc), line=exc.line, rule=exc.rule,
                   field=exc.field, reason=exc.reason)


@router.get("", response_model=RulePage)
def list_rules(
    _: Operator, request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> RulePage:
    """The running rules in file order; `cursor` is the last name of the previous page."""
    book = _book(request)
    rules = list(book.rules)
    after = {r.name: i + 1 for i, r in enumerate(rules)}
    # An unknown cursor (a rule removed by a reload meanwhile) ends the listing.
    start = 0 if cursor is None else after.get(cursor, len(rules))
    page = rules[start:start + limit]
    more = start + limit < len(rules)
    return RulePage(path=str(book.path) if book.path else None,
                    items=[RuleOut.of(r) for r in page],
                    next_cursor=page[-1].name if more and page else None)


@router.post("/validate", response_model=RulesChecked, openapi_extra=YAML_BODY)
async def validate_rules(_: Admin, request: Request) -> RulesChecked:
    """Validate a rules file sent as the body (YAML); 422 names line, rule and field."""
    raw = await read_body(request, request.app.state.settings.max_body_bytes)
    try:
        rules = parse_rules(raw.decode("utf-8"), "<request>")
    except UnicodeDecodeError:
        raise Problem(400, "Bad request", "the rules file must be UTF-8 text") from None
    except RuleConfigError as exc:
        raise invalid(exc) from None
    return RulesChecked(valid=True, rules=len(rules), names=[r.name for r in rules])


@router.post("/reload", response_model=RulesReloaded)
async def reload_rules(principal: Admin, request: Request, store: StoreDep) -> RulesReloaded:
    """Read the rules file again and swap it in; a bad file changes nothing (422)."""
    book = _book(request)
    if book.path is None:
        raise Problem(409, "Conflict", "the server runs without a rules file; nothing to "
                      "reload (start it with --rules FILE)")
    previous = len(book.rules)
    try:
        fresh = await run_in_threadpool(book.reload)
    except RuleConfigError as exc:
        raise invalid(exc) from None
    now: datetime = request.app.state.clock()
    details: dict[str, Any] = {"rules": len(fresh), "previous": previous}
    await run_in_threadpool(record, store, request, principal, "rules.reload",
                            str(book.path), now, **details)
    return RulesReloaded(path=str(book.path), rules=len(fresh), previous=previous)
