"""The generic webhook against a local sink: Standard Webhooks signatures that verify
with the spec's algorithm, a `webhook-id` stable across retries, 410 parked."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest

from cmdb.store import GraphStore
from rules.notify.dispatcher import Dispatcher
from rules.notify.redact import Secret
from rules.notify.state import DeliveryStore
from rules.notify.webhook import WebhookReceiver, WebhookSettings
from tests.conftest import Clock
from tests.integration.notify.fake_http import Request
from tests.integration.notify.fake_pagerduty import WebhookSink
from tests.integration.notify.outbox import enqueue, entry, incident

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    vendor = WebhookSink()
    with vendor.running():
        yield vendor


def verified(request: Request, now: int) -> bool:
    """Standard Webhooks verification as its spec describes it."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    msg_id, stamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
    signed = f"{msg_id}.{stamp}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return abs(now - int(stamp)) <= 300 and any(
        hmac.compare_digest(s.removeprefix("v1,"), expected)
        for s in request.headers["webhook-signature"].split() if s.startswith("v1,"))


def deliver(sink: WebhookSink, delivery: DeliveryStore, clock: Clock, rounds: int) -> Dispatcher:
    receiver = WebhookReceiver(WebhookSettings(
        name="hook", url=Secret(f"{sink.url}/hooks/opsgraph"), secret=Secret(SECRET),
        links={"incident": "https://og.example/v1/incidents/{incident_id}"}), clock)
    worker = Dispatcher(delivery, {"hook": receiver}, owner="d1", clock=clock)

    async def scenario() -> None:
        for _ in range(rounds):
            await worker.run_once()
            clock.advance(minutes=2)
            sink.down = False
        await receiver.aclose()

    asyncio.run(scenario())
    return worker


def test_every_attempt_is_signed_and_keeps_its_webhook_id(
        sink: WebhookSink, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore,
        clock: Clock) -> None:
    item = incident(1)
    opened = entry(item, "opened", "hook")
    enqueue(sqlite_store, [opened])
    sink.down = True  # the first attempt gets a 503

    deliver(sink, sqlite_delivery, clock, rounds=3)

    first, second = sink.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == opened.id
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 120
    assert verified(first, int(first.headers["webhook-timestamp"]))
    assert verified(second, int(second.headers["webhook-timestamp"]))
    assert first.body == second.body
    body = json.loads(second.body)
    assert body["type"] == "incident.opened"
    assert body["data"]["incident"]["id"] == item.id
    assert body["data"]["ci"]["name"] == item.ci_name
    assert body["data"]["links"] == {"incident": f"https://og.example/v1/incidents/{item.id}"}
    assert second.headers["content-type"] == "application/json"


def test_a_tampered_or_stale_delivery_does_not_verify(
        sink: WebhookSink, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore,
        clock: Clock) -> None:
    enqueue(sqlite_store, [entry(incident(1), "opened", "hook")])
    deliver(sink, sqlite_delivery, clock, rounds=1)
    [request] = sink.requests
    stamp = int(request.headers["webhook-timestamp"])

    tampered = Request(request.method, request.path, {}, request.headers,
                       request.body.replace(b"93%", b"13%"))
    assert verified(request, stamp)
    assert not verified(tampered, stamp)
    assert not verified(request, stamp + 3600)


def test_410_gone_is_a_dead_letter(sink: WebhookSink, sqlite_store: GraphStore,
                                   sqlite_delivery: DeliveryStore, clock: Clock) -> None:
    enqueue(sqlite_store, [entry(incident(1), "opened", "hook")])
    sink.status = 410

    worker = deliver(sink, sqlite_delivery, clock, rounds=3)

    assert len(sink.requests) == 1
    assert worker.stats.dead == 1
    [dead] = sqlite_delivery.dead_letters().items
    assert dead.status == 410


def test_run_dispatcher_serves_a_store_from_settings(
        sink: WebhookSink, sqlite_store: GraphStore) -> None:
    from rules.notify.config import parse_receivers
    from rules.notify.service import run_dispatcher
    from tests.integration.notify.outbox import until

    settings = parse_receivers(
        f"receivers:\n  hook:\n    type: webhook\n    url: {sink.url}/hook\n"
        "    secret_env: HOOK_SECRET\n", "receivers.yaml", {"HOOK_SECRET": SECRET})
    enqueue(sqlite_store, [entry(incident(n), "opened", "hook") for n in range(5)])

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_dispatcher(sqlite_store.url, settings, stop,
                                                  poll_interval=0.05))
        await until(lambda: len(sink.requests) == 5, 10, "five deliveries")
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())

    assert all(verified(r, int(r.headers["webhook-timestamp"])) for r in sink.requests)
