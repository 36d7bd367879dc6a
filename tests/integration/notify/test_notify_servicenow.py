"""ServiceNow through a local Table API double: the documented requests, no second
ticket after a lost response, dead letters for refused fields, OAuth, Retry-After,
reopen; and 500 incidents through an outage and a dispatcher crash, on every store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from cmdb.store import GraphStore
from rules.notify.dispatcher import Dispatcher, RetryPolicy
from rules.notify.redact import Secret
from rules.notify.servicenow import ServiceNowReceiver, ServiceNowSettings
from rules.notify.state import DeliveryStore, open_delivery_store
from tests.conftest import Clock
from tests.integration.notify.fake_servicenow import (
    CLIENT_ID,
    CLIENT_SECRET,
    GROUPS,
    PASSWORD,
    USER,
    FakeServiceNow,
)
from tests.integration.notify.outbox import enqueue, entry, incident, resolved, running, until

GROUP = next(iter(GROUPS))


@pytest.fixture
def snow() -> Iterator[FakeServiceNow]:
    vendor = FakeServiceNow()
    with vendor.running():
        yield vendor


def settings(snow: FakeServiceNow, **changes: Any) -> ServiceNowSettings:
    base: dict[str, Any] = {"name": "snow", "instance_url": snow.url, "username": USER,
                            "password": Secret(PASSWORD), "assignment_group": GROUP,
                            "timeout": 5.0, "max_in_flight": 8}
    return ServiceNowSettings(**{**base, **changes})


def dispatcher(delivery: DeliveryStore, receiver: ServiceNowReceiver, clock: Any = None,
               **options: Any) -> Dispatcher:
    extra = {"clock": clock} if clock is not None else {}
    return Dispatcher(delivery, {"snow": receiver}, owner=options.pop("owner", "d1"),
                      **extra, **options)


async def drain(worker: Dispatcher, rounds: int = 10) -> None:
    for _ in range(rounds):
        if await worker.run_once() == 0:
            return


def test_open_then_resolve_uses_the_documented_table_api_calls(
        snow: FakeServiceNow, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore) -> None:
    item = incident(1, ci_name="host-01")
    enqueue(sqlite_store, [entry(item, "opened", "snow"),
                           entry(resolved(item), "resolved", "snow")])

    async def scenario() -> None:
        receiver = ServiceNowReceiver(settings(snow))
        await drain(dispatcher(sqlite_delivery, receiver))
        await receiver.aclose()

    asyncio.run(scenario())

    calls = [(r.method, r.path) for r in snow.requests]
    assert calls == [("GET", "/api/now/table/incident"),  # is there one already?
                     ("GET", "/api/now/table/cmdb_ci"),
                     ("POST", "/api/now/table/incident"),
                     ("PATCH", f"/api/now/table/incident/{next(iter(snow.incidents))}")]
    assert snow.requests[0].query["sysparm_query"] == f"correlation_id={item.id}^active=true"
    assert snow.requests[0].query["sysparm_limit"] == "1"
    [(sys_id, ticket)] = snow.incidents.items()
    created = snow.requests[2].json()
    assert created["short_description"] == item.summary
    assert (created["urgency"], created["impact"], created["correlation_id"]) == ("2", "2", item.id)
    assert created["cmdb_ci"] == next(k for k, v in snow.cis.items() if v["name"] == "host-01")
    assert created["assignment_group"] == GROUP
    assert f"Incident:    {item.id}" in created["description"]
    assert ticket["state"] == "6"
    assert ticket["close_code"] == "Solution provided"
    ref = sqlite_delivery.ticket_ref(item.id, "snow")
    assert ref is not None
    assert (ref.external_id, ref.external_key) == (sys_id, "INC0010001")


def test_a_lost_response_never_makes_a_second_ticket(
        snow: FakeServiceNow, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore,
        clock: Clock) -> None:
    item = incident(1)
    enqueue(sqlite_store, [entry(item, "opened", "snow")])
    snow.drop_creates = 1  # the ticket is made, the answer never arrives

    async def scenario() -> None:
        receiver = ServiceNowReceiver(settings(snow))
        worker = dispatcher(sqlite_delivery, receiver, clock)
        assert await worker.run_once() == 1
        assert worker.stats.retried == 1
        clock.advance(minutes=5)
        assert await worker.run_once() == 1
        await receiver.aclose()

    asyncio.run(scenario())

    assert snow.by_correlation() == {item.id: 1}
    assert snow.count("POST", "/api/now/table/incident") == 1
    ref = sqlite_delivery.ticket_ref(item.id, "snow")
    assert ref is not None
    assert ref.external_id == next(iter(snow.incidents))
    assert sqlite_delivery.counts(["snow"]).delivered == 1


def test_a_refused_field_is_a_dead_letter_with_servicenow_s_answer(
        snow: FakeServiceNow, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore) -> None:
    item = incident(1)
    enqueue(sqlite_store, [entry(item, "opened", "snow"),
                           entry(resolved(item), "resolved", "snow")])

    async def scenario() -> None:
        receiver = ServiceNowReceiver(settings(snow, assignment_group="no-such-group"))
        await drain(dispatcher(sqlite_delivery, receiver))
        await receiver.aclose()

    asyncio.run(scenario())

    [dead] = sqlite_delivery.dead_letters().items
    assert (dead.status, dead.event, dead.error) == (400, "opened", "HTTP 400 Bad Request")
    assert dead.body is not None
    assert "Invalid assignment_group: no-such-group" in dead.body
    assert PASSWORD not in dead.body + dead.error
    assert snow.count("PATCH", "/api/now/table/incident") == 0  # the resolve waits behind it
    assert sqlite_delivery.counts(["snow"]).pending == 1


def test_oauth_fetches_a_token_once_and_again_when_it_is_refused(
        snow: FakeServiceNow, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore) -> None:
    enqueue(sqlite_store, [entry(incident(n), "opened", "snow") for n in range(6)])
    oauth = settings(snow, auth="oauth", username=None, password=None, client_id=CLIENT_ID,
                     client_secret=Secret(CLIENT_SECRET))

    async def scenario() -> None:
        receiver = ServiceNowReceiver(oauth)
        worker = dispatcher(sqlite_delivery, receiver)
        await worker.run_once()
        assert snow.count("POST", "/oauth_token.do") == 1  # shared by concurrent deliveries
        snow.tokens.clear()  # revoked
        enqueue(sqlite_store, [entry(incident(n), "opened", "snow") for n in range(6, 12)])
        await worker.run_once()
        await receiver.aclose()

    asyncio.run(scenario())

    assert snow.count("POST", "/oauth_token.do") == 2  # one refetch for six refusals
    assert len(snow.incidents) == 12
    assert sqlite_delivery.counts(["snow"]).delivered == 12


def test_retry_after_from_servicenow_sets_the_next_attempt(
        snow: FakeServiceNow, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore,
        clock: Clock) -> None:
    enqueue(sqlite_store, [entry(incident(1), "opened", "snow")])
    snow.throttle, snow.throttle_retry_after = 1, "120"

    async def scenario() -> None:
        receiver = ServiceNowReceiver(settings(snow))
        worker = dispatcher(sqlite_delivery, receiver, clock)
        await worker.run_once()
        assert sqlite_delivery.next_due(["snow"]) == clock.now + timedelta(seconds=120)
        clock.advance(seconds=119)
        assert await worker.run_once() == 0
        clock.advance(seconds=1)
        assert await worker.run_once() == 1
        await receiver.aclose()

    asyncio.run(scenario())

    assert len(snow.incidents) == 1


def test_a_reopened_incident_puts_its_resolved_ticket_back_in_progress(
        snow: FakeServiceNow, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore) -> None:
    item = incident(1)
    enqueue(sqlite_store, [entry(item, "opened", "snow"), entry(resolved(item), "resolved", "snow"),
                           entry(item, "reopened", "snow")])

    async def scenario() -> None:
        receiver = ServiceNowReceiver(settings(snow))
        await drain(dispatcher(sqlite_delivery, receiver))
        await receiver.aclose()

    asyncio.run(scenario())

    [ticket] = snow.incidents.values()
    assert ticket["state"] == "2"
    assert "Event:       reopened" in ticket["work_notes"]


# The outage is a few seconds, not the minute of the issue, to keep the suite quick;
# backoff is scaled down to match (50 ms doubling to 400 ms).
OUTAGE_SECONDS = 2.0
INCIDENTS = 500


def test_500_incidents_through_an_outage_and_a_crash_make_500_tickets_resolved_once(
        store: GraphStore, snow: FakeServiceNow) -> None:
    items = [incident(n) for n in range(INCIDENTS)]
    enqueue(store, [entry(i, "opened", "snow") for i in items])
    snow.down = True
    snow.drop_creates = 5  # a few lost responses once it is back
    policy = RetryPolicy(base=0.05, factor=2, cap=0.4)

    async def scenario() -> None:
        first_state = open_delivery_store(store.url)
        first = ServiceNowReceiver(settings(snow, max_in_flight=16))
        crashed = Dispatcher(first_state, {"snow": first}, owner="first", policy=policy,
                             lease=2.0)
        task = asyncio.create_task(crashed.run(asyncio.Event()))
        await asyncio.sleep(OUTAGE_SECONDS / 2)
        task.cancel()  # killed mid-outage: no graceful stop, its leases just run out
        await asyncio.gather(task, return_exceptions=True)
        await first.aclose()
        first_state.close()

        state = open_delivery_store(store.url)
        receiver = ServiceNowReceiver(settings(snow, max_in_flight=16))
        worker = Dispatcher(state, {"snow": receiver}, owner="second", policy=policy, lease=2.0)
        async with running(worker):
            await asyncio.sleep(OUTAGE_SECONDS / 2)
            snow.down = False
            await until(lambda: state.counts(["snow"]).delivered == INCIDENTS, 60,
                        "every create delivered")
            enqueue(store, [entry(resolved(i), "resolved", "snow") for i in items])
            worker.wake()
            await until(lambda: state.counts(["snow"]).delivered == 2 * INCIDENTS, 60,
                        "every resolve delivered")
        await receiver.aclose()
        state.close()

    asyncio.run(scenario())

    tickets = snow.by_correlation()
    assert len(tickets) == INCIDENTS
    assert set(tickets.values()) == {1}
    assert set(tickets) == {i.id for i in items}
    assert len(snow.resolutions) == INCIDENTS
    assert set(snow.resolutions.values()) == {1}
    assert all(t["state"] == "6" for t in snow.incidents.values())
    assert snow.count("GET", "/api/now/table/incident") >= INCIDENTS
