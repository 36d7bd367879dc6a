"""The intake guard: past its bound, intake is answered 503 with Retry-After at once,
while other routes and requests under the bound pass."""

from __future__ import annotations

import asyncio
import json

from starlette.types import Message, Receive, Scope, Send

from api.overload import IntakeGuard
from api.telemetry import Telemetry


def test_past_the_bound_intake_gets_503_with_retry_after() -> None:
    release = asyncio.Event()

    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    telemetry = Telemetry("test")
    guard = IntakeGuard(slow_app, telemetry, limit=2, retry_after=7)

    async def call(path: str) -> list[Message]:
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        await guard({"type": "http", "path": path, "method": "POST"}, receive, send)
        return sent

    async def scenario() -> tuple[list[list[Message]], list[Message], list[Message]]:
        admitted = [asyncio.create_task(call("/v1/alertmanager")) for _ in range(2)]
        other = asyncio.create_task(call("/v1/cis"))
        await asyncio.sleep(0.01)
        assert guard.in_flight == 2
        refused = await call("/v1/reports")
        release.set()
        return [await t for t in admitted], refused, await other

    admitted, refused, other = asyncio.run(scenario())

    start = refused[0]
    assert start["status"] == 503
    headers = dict(start["headers"])
    assert headers[b"retry-after"] == b"7"
    assert headers[b"content-type"] == b"application/problem+json"
    assert json.loads(refused[1]["body"])["title"] == "Overloaded"
    assert [a[0]["status"] for a in admitted] == [202, 202]
    assert other[0]["status"] == 202  # not intake: never refused
    assert guard.in_flight == 0
    assert telemetry.intake_overloaded.labels(route="/v1/reports")._value.get() == 1
    assert telemetry.intake_requests.labels(
        route="/v1/alertmanager", code="2xx")._value.get() == 2
