"""The delivery state on every store (SQLite, Neo4j): what a claim takes, what record
does with each outcome, leases, dead letters holding back their incident, ticket refs
and counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from cmdb.store import GraphStore
from rules.notify.errors import UnknownDelivery
from rules.notify.model import Delivered, Parked, RetryLater, TicketRef
from rules.notify.state import DeliveryStore, open_delivery_store
from tests.integration.notify.outbox import T0, enqueue, entry, incident, resolved

LEASE = T0 + timedelta(seconds=60)


@pytest.fixture
def delivery(store: GraphStore) -> Iterator[DeliveryStore]:
    state = open_delivery_store(store.url)
    yield state
    state.close()


def test_a_claim_takes_only_the_first_undelivered_entry_of_each_incident(
        store: GraphStore, delivery: DeliveryStore) -> None:
    a, b = incident(1), incident(2)
    opened_a, resolved_a, opened_b = (entry(a, "opened", "snow"),
                                      entry(resolved(a), "resolved", "snow"),
                                      entry(b, "opened", "snow"))
    enqueue(store, [opened_a, resolved_a, opened_b])

    first = delivery.claim({"snow": 10}, "d1", T0, LEASE)

    assert [n.outbox_id for n in first] == [opened_a.id, opened_b.id]
    assert [n.attempt for n in first] == [1, 1]
    assert first[0].payload == opened_a.payload
    assert delivery.claim({"snow": 10}, "d2", T0, LEASE) == []  # leased to d1
    delivery.record("d1", [Delivered(opened_a.id, T0, 201)])
    second = delivery.claim({"snow": 10}, "d2", T0, LEASE)
    assert [n.outbox_id for n in second] == [resolved_a.id]
    assert delivery.state_of(opened_a.id) == "delivered"


def test_a_claim_respects_the_per_receiver_limit_and_leaves_other_receivers_alone(
        store: GraphStore, delivery: DeliveryStore) -> None:
    entries = [entry(incident(n), "opened", "snow") for n in range(5)]
    jira = entry(incident(9), "opened", "jira")
    enqueue(store, [*entries, jira])

    claimed = delivery.claim({"snow": 2}, "d1", T0, LEASE)

    assert [n.outbox_id for n in claimed] == [e.id for e in entries[:2]]
    assert delivery.state_of(jira.id) is None  # not even copied: no claim named jira
    assert delivery.counts(["snow", "jira"]).pending == 6


def test_an_expired_lease_is_claimable_again_and_counts_a_second_attempt(
        store: GraphStore, delivery: DeliveryStore) -> None:
    only = entry(incident(1), "opened", "snow")
    enqueue(store, [only])
    delivery.claim({"snow": 1}, "crashed", T0, LEASE)

    assert delivery.claim({"snow": 1}, "d2", T0 + timedelta(seconds=59), LEASE) == []
    later = T0 + timedelta(seconds=61)
    again = delivery.claim({"snow": 1}, "d2", later, later + timedelta(seconds=60))
    assert [(n.outbox_id, n.attempt) for n in again] == [(only.id, 2)]
    # The crashed owner's late failure report no longer applies; its success would.
    delivery.record("crashed", [RetryLater(only.id, later, later, "late")])
    assert delivery.claim({"snow": 1}, "d3", later, later) == []
    delivery.record("crashed", [Delivered(only.id, later, 200)])
    assert delivery.state_of(only.id) == "delivered"


def test_a_retry_waits_until_it_is_due_and_next_due_says_when(
        store: GraphStore, delivery: DeliveryStore) -> None:
    only = entry(incident(1), "opened", "snow")
    enqueue(store, [only])
    delivery.claim({"snow": 1}, "d1", T0, LEASE)
    due = T0 + timedelta(seconds=30)

    delivery.record("d1", [RetryLater(only.id, T0, due, "HTTP 503 Service Unavailable", 503)])

    assert delivery.next_due(["snow"]) == due
    assert delivery.claim({"snow": 1}, "d1", due - timedelta(seconds=1), LEASE) == []
    assert len(delivery.claim({"snow": 1}, "d1", due, due + timedelta(seconds=60))) == 1
    assert delivery.counts(["snow"]).failures == 1


def test_a_dead_letter_holds_back_its_incident_until_requeued_or_discarded(
        store: GraphStore, delivery: DeliveryStore) -> None:
    a, b = incident(1), incident(2)
    opened_a, resolved_a = entry(a, "opened", "snow"), entry(resolved(a), "resolved", "snow")
    opened_b = entry(b, "opened", "snow")
    enqueue(store, [opened_a, resolved_a, opened_b])
    delivery.claim({"snow": 10}, "d1", T0, LEASE)
    body = '{"error": {"message": "Data Policy Exception"}}'
    delivery.record("d1", [Parked(opened_a.id, T0, "HTTP 400 Bad Request", 400, body),
                           Delivered(opened_b.id, T0, 201)])

    assert delivery.claim({"snow": 10}, "d1", T0, LEASE) == []  # resolve waits behind it
    page = delivery.dead_letters()
    assert [(d.outbox_id, d.status, d.body, d.event) for d in page.items] == [
        (opened_a.id, 400, body, "opened")]
    assert page.items[0].incident_id == a.id
    assert page.items[0].attempts == 1

    delivery.requeue(opened_a.id, T0)
    assert [n.outbox_id for n in delivery.claim({"snow": 10}, "d1", T0, LEASE)] == [opened_a.id]
    delivery.record("d1", [Parked(opened_a.id, T0, "HTTP 400 Bad Request", 400, body)])
    delivery.discard(opened_a.id, T0)
    assert [n.outbox_id for n in delivery.claim({"snow": 10}, "d1", T0, LEASE)] == [resolved_a.id]
    counts = delivery.counts(["snow"])
    assert (counts.delivered, counts.dead, counts.discarded, counts.pending) == (1, 0, 1, 1)
    with pytest.raises(UnknownDelivery):
        delivery.requeue(resolved_a.id, T0)


def test_dead_letters_page_by_seq(store: GraphStore, delivery: DeliveryStore) -> None:
    entries = [entry(incident(n), "opened", "snow") for n in range(5)]
    enqueue(store, entries)
    delivery.claim({"snow": 10}, "d1", T0, LEASE)
    delivery.record("d1", [Parked(e.id, T0, "HTTP 404 Not Found", 404, None) for e in entries])

    first = delivery.dead_letters(limit=3)
    second = delivery.dead_letters(limit=3, cursor=first.next_cursor)

    assert [d.outbox_id for d in first.items + second.items] == [e.id for e in entries]
    assert second.next_cursor is None


def test_ticket_refs_are_kept_per_incident_and_receiver(
        store: GraphStore, delivery: DeliveryStore) -> None:
    ref = TicketRef("inc-1", "snow", "46e18c0fa9fe19810066a0083f76bd56", "INC0010001")
    delivery.save_ticket_ref(ref)
    delivery.save_ticket_ref(TicketRef("inc-1", "jira", "10001", "OPS-1"))

    assert delivery.ticket_ref("inc-1", "snow") == ref
    assert delivery.ticket_ref("inc-1", "jira") == TicketRef("inc-1", "jira", "10001", "OPS-1")
    assert delivery.ticket_ref("inc-2", "snow") is None
    delivery.save_ticket_ref(TicketRef("inc-1", "snow", "other", None))
    assert delivery.ticket_ref("inc-1", "snow") == TicketRef("inc-1", "snow", "other", None)


def test_a_delivery_stores_its_ticket_and_later_claims_carry_it(
        store: GraphStore, delivery: DeliveryStore) -> None:
    a = incident(1)
    opened, closed = entry(a, "opened", "snow"), entry(resolved(a), "resolved", "snow")
    enqueue(store, [opened, closed])
    [first] = delivery.claim({"snow": 10}, "d1", T0, LEASE)
    assert first.ticket is None
    ticket = TicketRef(a.id, "snow", "46e18c0fa9fe19810066a0083f76bd56", "INC0010001")

    delivery.record("d1", [Delivered(opened.id, T0, 201, ticket)])

    [second] = delivery.claim({"snow": 10}, "d1", T0, LEASE)
    assert (second.outbox_id, second.ticket) == (closed.id, ticket)
    assert delivery.ticket_ref(a.id, "snow") == ticket


def test_state_survives_reopening_the_store(store: GraphStore, delivery: DeliveryStore) -> None:
    a = incident(1)
    opened, closed = entry(a, "opened", "snow"), entry(resolved(a), "resolved", "snow")
    enqueue(store, [opened, closed])
    delivery.claim({"snow": 10}, "d1", T0, LEASE)
    delivery.record("d1", [Delivered(opened.id, T0, 201)])

    reopened = open_delivery_store(store.url)
    try:
        assert [n.outbox_id for n in reopened.claim({"snow": 10}, "d2", T0, LEASE)] == [closed.id]
    finally:
        reopened.close()
