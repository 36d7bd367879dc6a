"""`POST /v1/reports`: agent reports, idempotent by `report_id`."""

from __future__ import annotations

import json
import time
import zlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.auth import AgentOrAdmin
from api.deps import IntakeDep, TelemetryDep
from api.problems import Problem
from collector.report_model import AgentReport

router = APIRouter(prefix="/v1", tags=["intake"])


class ReportAccepted(BaseModel):
    report_id: str
    ci_id: str | None
    duplicate: bool


async def read_body(request: Request, limit: int) -> bytes:
    """The body, gunzipped if sent so; 413 past `limit` bytes (before or after
    decompression, so a small gzip bomb is refused too)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Problem(413, "Payload too large", f"the body is over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise Problem(413, "Payload too large", f"the body is over {limit} bytes")
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding == "identity":
        return bytes(body)
    if encoding != "gzip":
        raise Problem(415, "Unsupported media type", f"content-encoding {encoding!r}")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(bytes(body), limit + 1)
    except zlib.error as exc:
        raise Problem(400, "Bad request", f"invalid gzip body: {exc}") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise Problem(413, "Payload too large", f"the decompressed body is over {limit} bytes")
    return data


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(
            exc, json.JSONDecodeError) else ""
        raise Problem(400, "Bad request", f"the body is not valid JSON{where}") from None


@router.post(
    "/reports",
    status_code=202,
    response_model=ReportAccepted,
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": AgentReport.model_json_schema(
            ref_template="#/components/schemas/{model}")}}}},
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


