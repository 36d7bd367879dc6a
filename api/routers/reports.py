"""`POST /v1/reports`: agent reports, idempotent by `report_id`."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.auth import AgentOrAdmin
from api.body import parse_json, read_body, request_body
from api.deps import IntakeDep, TelemetryDep
from api.problems import Problem
from collector.report_model import AgentReport

router = APIRouter(prefix="/v1", tags=["intake"])


class ReportAccepted(BaseModel):
    report_id: str
    ci_id: str | None
    duplicate: bool


@router.post(
    "/reports",
    status_code=202,
    response_model=ReportAccepted,
    openapi_extra=request_body(AgentReport),
)
async def post_report(request: Request, principal: AgentOrAdmin, intake: IntakeDep,
                      telemetry: TelemetryDep) -> ReportAccepted:
    """Accept one agent report (JSON, optionally gzip). A retry of an accepted report
    answers 202 with `duplicate: true` and changes nothing."""
    started = time.perf_counter()
    limit: int = request.app.state.settings.max_body_bytes
    raw = await read_body(request, limit)
    report = AgentReport.model_validate(parse_json(raw))
    if principal.role == "agent" and principal.agent_id != report.agent_id:
        raise Problem(403, "Forbidden",
                      f"this token may only report for agent {principal.agent_id!r}")
    result = await run_in_threadpool(intake.accept, report)
    telemetry.reports.labels(outcome="duplicate" if result.duplicate else "accepted").inc()
    telemetry.incident_changes.inc(result.incidents_changed)
    telemetry.report_seconds.observe(time.perf_counter() - started)
    return ReportAccepted(report_id=result.report_id, ci_id=result.ci_id,
                          duplicate=result.duplicate)


