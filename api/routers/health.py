"""Liveness, readiness and Prometheus `/metrics` (unauthenticated, like exporters)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import StoreDep, TelemetryDep
from api.problems import Problem
from cmdb.errors import StoreUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(store: StoreDep) -> dict[str, str]:
    """Ready only when the store answers."""
    try:
        await run_in_threadpool(store.ping)
    except StoreUnavailable as exc:
        raise Problem(503, "Not ready", f"store unavailable: {exc}") from None
    return {"status": "ready"}


@router.get("/metrics", response_class=Response)
def metrics(telemetry: TelemetryDep) -> Response:
    return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)
