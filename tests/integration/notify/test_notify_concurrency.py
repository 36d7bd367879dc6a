"""Two dispatchers on one store (each with its own connection, as two processes would
have): every notification is sent once, each incident's in order, and both share
the work. Runs on SQLite and on Neo4j."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from cmdb.store import GraphStore
from rules.notify.dispatcher import Dispatcher
from rules.notify.redact import Secret
from rules.notify.state import open_delivery_store
from rules.notify.webhook import WebhookReceiver, WebhookSettings
from tests.integration.notify.fake_pagerduty import WebhookSink
from tests.integration.notify.outbox import enqueue, entry, incident, resolved, running, until

INCIDENTS = 150


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    vendor = WebhookSink()
    vendor.delay = 0.002  # a little latency, so both dispatchers have work in flight
    with vendor.running():
        yield vendor


def test_two_dispatchers_never_send_one_notification_twice(
        store: GraphStore, sink: WebhookSink) -> None:
    items = [incident(n) for n in range(INCIDENTS)]
    opened = [entry(i, "opened", "hook") for i in items]
    closed = [entry(resolved(i), "resolved", "hook") for i in items]
    enqueue(store, opened)
    enqueue(store, closed)

    async def scenario() -> list[Dispatcher]:
        workers: list[Dispatcher] = []
        for owner in ("left", "right"):
            state = open_delivery_store(store.url)
            receiver = WebhookReceiver(WebhookSettings(
                name="hook", url=Secret(f"{sink.url}/hook"), max_in_flight=8))
            workers.append(Dispatcher(state, {"hook": receiver}, owner=owner))
        async with running(workers[0]), running(workers[1]):
            await until(lambda: sum(w.stats.delivered for w in workers) >= 2 * INCIDENTS,
                        60, "every notification delivered")
            await asyncio.sleep(0.3)  # time for a double send to show, if there were one
        for worker in workers:
            for hook in worker.receivers.values():
                await hook.aclose()
            worker.store.close()
        return workers

    workers = asyncio.run(scenario())

    sent = Counter(r.headers["webhook-id"] for r in sink.requests)
    assert len(sent) == 2 * INCIDENTS
    assert set(sent.values()) == {1}
    assert all(w.stats.delivered > 0 for w in workers), "both dispatchers took work"
    order = {r.headers["webhook-id"]: n for n, r in enumerate(sink.requests)}
    assert all(order[o.id] < order[c.id] for o, c in zip(opened, closed, strict=True))
