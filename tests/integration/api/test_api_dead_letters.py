"""A notification a receiver refused for good is visible with the answer it got, and an
operator can requeue or discard it."""

from __future__ import annotations

from datetime import timedelta

from cmdb.store import GraphStore, OutboxEntry
from rules.notify.model import Parked
from rules.notify.state import open_delivery_store
from tests.conftest import Clock
from tests.integration.apiclient import running_api


def park_one(store: GraphStore, clock: Clock) -> str:
    entry = OutboxEntry("ob-1", "inc-1", "hook", "opened", clock(),
                        {"event": "opened", "incident": {"id": "inc-1"}})
    store.write(lambda tx: tx.enqueue([entry]))
    deliveries = open_delivery_store(store.url)
    try:
        [claimed] = deliveries.claim({"hook": 1}, "test", clock(),
                                     clock() + timedelta(minutes=1))
        deliveries.record("test", [Parked(claimed.outbox_id, clock(), "HTTP 400",
                                          400, '{"error": "unknown field cmdb_ci"}')])
    finally:
        deliveries.close()
    return entry.id


def test_dead_letters_are_listed_requeued_and_discarded(store: GraphStore, clock: Clock
                                                        ) -> None:
    outbox_id = park_one(store, clock)
    with running_api(store, clock) as api:
        listed = api.client.get("/v1/notifications/dead-letters",
                                headers=api.auth("operator"))
        assert listed.status_code == 200, listed.text
        [dead] = listed.json()["items"]
        assert dead["outbox_id"] == outbox_id
        assert dead["status"] == 400
        assert dead["body"] == '{"error": "unknown field cmdb_ci"}'

        assert api.client.get("/v1/notifications/dead-letters",
                              headers=api.auth("agent")).status_code == 403
        requeued = api.client.post(f"/v1/notifications/dead-letters/{outbox_id}/requeue",
                                   headers=api.auth("operator"))
        assert requeued.status_code == 204
        assert api.client.get("/v1/notifications/dead-letters",
                              headers=api.auth("operator")).json()["items"] == []
        again = api.client.post(f"/v1/notifications/dead-letters/{outbox_id}/discard",
                                headers=api.auth("operator"))
        assert again.status_code == 404
        assert again.headers["content-type"] == "application/problem+json"
