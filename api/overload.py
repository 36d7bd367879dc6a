"""Intake admission: a bounded number of intake requests in flight per process.

Past the bound an intake request is answered at once, before its body is read,
with `503 Service Unavailable` and `Retry-After` — not 429, because Alertmanager
retries only 5xx (and the agent's spool retries both). The same middleware counts
intake requests by route and status class and times them, for `/metrics`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.telemetry import Telemetry

INTAKE_PATHS: tuple[str, ...] = ("/v1/reports", "/v1/alertmanager", "/v1/events")


class IntakeGuard:
    """ASGI middleware admitting at most `limit` requests to `paths` at a time."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry, limit: int, retry_after: int,
                 paths: Collection[str] = INTAKE_PATHS) -> None:
        self.app, self._telemetry = app, telemetry
        self._limit, self._retry_after, self._paths = limit, retry_after, frozenset(paths)
        # Only the event loop thread touches it, so a plain int is enough.
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path not in self._paths:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self._limit:
            self._telemetry.intake_overloaded.labels(route=path).inc()
            await self._overloaded(path, send)
            return
        self.in_flight += 1
        self._telemetry.intake_in_flight.set(self.in_flight)
        started, status = time.perf_counter(), 500

        async def counted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counted_send)
        finally:
            self.in_flight -= 1
            self._telemetry.intake_in_flight.set(self.in_flight)
            self._telemetry.intake_requests.labels(route=path, code=f"{status // 100}xx").inc()
            self._telemetry.intake_seconds.labels(route=path).observe(
                time.perf_counter() - started)

    async def _overloaded(self, path: str, send: Send) -> None:
        body = json.dumps({
            "type": "about:blank", "title": "Overloaded", "status": 503,
            "detail": f"more than {self._limit} intake requests in flight; retry in "
                      f"{self._retry_after} s", "instance": path}).encode()
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(self._retry_after).encode())]})
        await send({"type": "http.response.body", "body": body})
