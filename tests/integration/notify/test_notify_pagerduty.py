"""PagerDuty through a local Events API v2 double: trigger and resolve on the dedup
key, 400 is a dead letter, 429 and 5xx are retried, the routing key never stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from cmdb.store import GraphStore
from rules.notify.dispatcher import Dispatcher
from rules.notify.pagerduty import PagerDutyReceiver, PagerDutySettings
from rules.notify.redact import Secret
from rules.notify.state import DeliveryStore
from tests.conftest import Clock
from tests.integration.notify.fake_pagerduty import ROUTING_KEY, FakePagerDuty
from tests.integration.notify.outbox import enqueue, entry, incident, resolved


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    vendor = FakePagerDuty()
    with vendor.running():
        yield vendor


def run(delivery: DeliveryStore, settings: PagerDutySettings, clock: Clock,
        rounds: int = 10) -> Dispatcher:
    receiver = PagerDutyReceiver(settings, clock)
    worker = Dispatcher(delivery, {"pd": receiver}, owner="d1", clock=clock)

    async def scenario() -> None:
        for _ in range(rounds):
            await worker.run_once()
            clock.advance(minutes=5)
        await receiver.aclose()

    asyncio.run(scenario())
    return worker


def settings(pagerduty: FakePagerDuty, **changes: Any) -> PagerDutySettings:
    base: dict[str, Any] = {"name": "pd", "routing_key": Secret(ROUTING_KEY),
                            "url": f"{pagerduty.url}/v2/enqueue"}
    return PagerDutySettings(**{**base, **changes})


def test_trigger_then_resolve_the_same_alert(
        pagerduty: FakePagerDuty, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore,
        clock: Clock) -> None:
    item = incident(1)
    enqueue(sqlite_store, [entry(item, "opened", "pd"), entry(resolved(item), "resolved", "pd")])
    pagerduty.throttle = 1  # 429 first
    pagerduty.down = False

    worker = run(sqlite_delivery, settings(pagerduty), clock)

    assert pagerduty.alerts == {item.fingerprint: {
        "status": "resolved", "triggers": 1, "summary": item.summary}}
    assert worker.stats.retried == 1
    assert worker.stats.delivered == 2
    assert [r.json()["event_action"] for r in pagerduty.requests] == [
        "trigger", "trigger", "resolve"]


def test_5xx_is_retried_until_it_goes_through(
        pagerduty: FakePagerDuty, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore,
        clock: Clock) -> None:
    enqueue(sqlite_store, [entry(incident(1), "opened", "pd")])
    pagerduty.down = True

    async def scenario() -> None:
        receiver = PagerDutyReceiver(settings(pagerduty), clock)
        worker = Dispatcher(sqlite_delivery, {"pd": receiver}, owner="d1", clock=clock)
        for _ in range(3):
            await worker.run_once()
            clock.advance(minutes=30)
        pagerduty.down = False
        await worker.run_once()
        await receiver.aclose()

    asyncio.run(scenario())

    assert len(pagerduty.alerts) == 1
    assert sqlite_delivery.counts(["pd"]).failures == 3


def test_a_400_is_a_dead_letter_without_the_routing_key(
        pagerduty: FakePagerDuty, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore,
        clock: Clock) -> None:
    enqueue(sqlite_store, [entry(incident(1), "opened", "pd")])
    short_key = "short-routing-key-1234"

    worker = run(sqlite_delivery, settings(pagerduty, routing_key=Secret(short_key)), clock)

    [dead] = sqlite_delivery.dead_letters().items
    assert dead.status == 400
    assert worker.stats.retried == 0
    assert dead.body is not None
    assert "routing_key" in dead.body
    assert "Event object is invalid" in dead.body
    assert short_key not in dead.body + dead.error
    assert len(pagerduty.requests) == 1
