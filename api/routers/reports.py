"""`POST /v1/reports`: agent reports, one or a batch per request, idempotent by
`report_id`."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, RootModel

from api.auth import AgentOrAdmin, Principal
from api.body import parse_json, read_body, request_body
from api.deps import IntakeDep, TelemetryDep
from api.problems import Problem
from api.telemetry import Telemetry
from cmdb.errors import UniquenessConflict
from collector.intake import BatchReportRefused, IntakeResult
from collector.report_model import AgentReport, ReportBatch

router = APIRouter(prefix="/v1", tags=["intake"])


class ReportAccepted(BaseModel):
    report_id: str
    ci_id: str | None
    duplicate: bool


class BatchAccepted(BaseModel):
    """One entry per report of the batch, in the batch's order."""

    results: list[ReportAccepted]


class ReportBody(RootModel[AgentReport | ReportBatch]):
    """What `POST /v1/reports` takes: one report, or `{"reports": [...]}`."""


@router.post(
    "/reports",
    status_code=202,
    response_model=ReportAccepted | BatchAccepted,
    openapi_extra=request_body(ReportBody),
)
async def post_report(request: Request, principal: AgentOrAdmin, intake: IntakeDep,
                      telemetry: TelemetryDep) -> ReportAccepted | BatchAccepted:
    """Accept one agent report, or a batch `{"reports": [...]}` (JSON, optionally gzip).
    A retry of an accepted report answers 202 with `duplicate: true` and changes
    nothing. A batch is validated whole before any of it is accepted."""
    started = time.perf_counter()
    limit: int = request.app.state.settings.max_body_bytes
    body = parse_json(await read_body(request, limit))
    if isinstance(body, dict) and "reports" in body:
        accepted = await _accept_batch(ReportBatch.model_validate(body), principal, intake,
                                       telemetry, started)
        _wake_dispatcher(request, accepted[1])
        return accepted[0]
    report = AgentReport.model_validate(body)
    _check_agent(principal, report, "")
    [result] = _counted(telemetry, [await run_in_threadpool(intake.accept, report)], started)
    _wake_dispatcher(request, [result])
    return _accepted(result)


def _wake_dispatcher(request: Request, results: list[IntakeResult]) -> None:
    """New outbox entries: let this process's dispatcher look now, not at its next poll."""
    if any(r.notifications for r in results):
        request.app.state.outbox_written()


async def _accept_batch(batch: ReportBatch, principal: Principal, intake: IntakeDep,
                        telemetry: Telemetry, started: float
                        ) -> tuple[BatchAccepted, list[IntakeResult]]:
    for index, report in enumerate(batch.reports):
        _check_agent(principal, report, f"reports.{index}: ")
    try:
        results = await run_in_threadpool(intake.accept_batch, batch.reports)
    except BatchReportRefused as refused:
        status, title = ((409, "Conflict") if isinstance(refused.cause, UniquenessConflict)
                         else (422, "Report refused"))
        loc = f"reports.{refused.index}"
        raise Problem(status, title, f"{loc}: {refused.cause}",
                      errors=[{"loc": loc, "msg": str(refused.cause)}]) from None
    counted = _counted(telemetry, results, started)
    return BatchAccepted(results=[_accepted(r) for r in counted]), counted


def _check_agent(principal: Principal, report: AgentReport, where: str) -> None:
    if principal.role == "agent" and principal.agent_id != report.agent_id:
        raise Problem(403, "Forbidden",
                      f"{where}this token may only report for agent {principal.agent_id!r}")


def _counted(telemetry: Telemetry, results: list[IntakeResult], started: float
             ) -> list[IntakeResult]:
    share = (time.perf_counter() - started) / len(results)  # a batch's time, per report
    for result in results:
        telemetry.reports.labels(outcome="duplicate" if result.duplicate else "accepted").inc()
        telemetry.incident_changes.inc(result.incidents_changed)
        telemetry.report_seconds.observe(share)
    return results


def _accepted(result: IntakeResult) -> ReportAccepted:
    return ReportAccepted(report_id=result.report_id, ci_id=result.ci_id,
                          duplicate=result.duplicate)

