"""Delivery state: which outbox entries were delivered, which wait for a retry, which
are leased to a dispatcher right now, which are dead letters, and the tickets that
notifications created (ServiceNow sys_id, Jira key).

It lives in the CMDB's own database, beside the `outbox` the rules engine writes, in
tables (SQLite) or labels (Neo4j) of its own; the outbox itself is only read. Every
operation is one transaction, so several dispatcher processes can share a store:

- `claim` first copies outbox entries it has not seen (a per-receiver cursor on
  `seq`, which writers assign inside their serialised transaction, so a higher seq
  is never visible before a lower one) into the delivery state, then leases the due
  entries that head their (incident, receiver) chain: an entry is claimable only when
  every earlier entry of its incident and receiver is delivered or discarded. A dead
  letter therefore holds back the later entries of its incident and receiver (a
  resolve must not overtake the create it updates) until an operator requeues or
  discards it.
- `record` applies outcomes. `Delivered` applies whoever holds the lease (the send
  happened) and stores the ticket the receiver made in the same transaction, so a
  ticket reference is never lost behind a delivery marked done; `RetryLater` and
  `Parked` apply only while the caller still holds the lease.
- Claimed notifications carry the ticket an earlier delivery stored for their
  incident and receiver.
- A lease that expires (its dispatcher died) makes the entry claimable again; the
  receivers' idempotency (correlation lookups, dedup keys, `webhook-id`) absorbs
  the resend that a dispatcher dying between send and record may cause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from cmdb.errors import InvalidStoreURL
from cmdb.records import Page
from rules.notify.model import (
    DeadLetter,
    DeliveryCounts,
    DeliveryState,
    Notification,
    Outcome,
    TicketRef,
)

NEO4J_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")
INGEST_BATCH = 1000
"""Outbox entries copied into the delivery state per receiver and claim."""


class DeliveryStore(Protocol):
    """Delivery state. Implementations: `SQLiteDeliveryStore`, `Neo4jDeliveryStore`."""

    url: str

    def initialise(self) -> None:
        """Create tables/constraints/indexes of its own (idempotent)."""

    def close(self) -> None: ...

    def claim(self, limits: Mapping[str, int], owner: str, now: datetime,
              lease_until: datetime, settle: Sequence[Outcome] = ()) -> list[Notification]:
        """Lease up to `limits[receiver]` due chain heads per receiver to `owner` until
        `lease_until`, counting an attempt for each; oldest (lowest seq) first, each
        with its incident's ticket at that receiver. `settle` outcomes are recorded
        first, in the same transaction (one commit per dispatcher round)."""

    def record(self, owner: str, outcomes: Sequence[Outcome]) -> None:
        """Apply attempt outcomes and drop their leases (see the module docstring)."""

    def next_due(self, receivers: Sequence[str]) -> datetime | None:
        """When the earliest chain head of `receivers` becomes claimable (None: none
        pending). Entries not yet copied from the outbox are not seen."""

    def ticket_ref(self, incident_id: str, receiver: str) -> TicketRef | None: ...

    def save_ticket_ref(self, ref: TicketRef) -> None:
        """Insert or replace the ref of (incident, receiver)."""

    def counts(self, receivers: Sequence[str] = ()) -> DeliveryCounts:
        """Entries by state; outbox entries of `receivers` not yet copied count as
        pending."""

    def state_of(self, outbox_id: str) -> DeliveryState | None: ...

    def dead_letters(self, limit: int = 100, cursor: str | None = None
                     ) -> Page[DeadLetter]:
        """Dead letters by seq; `cursor` is the previous page's `next_cursor`."""

    def requeue(self, outbox_id: str, now: datetime) -> None:
        """Make a dead letter pending again, due now; `UnknownDelivery` if not dead."""

    def discard(self, outbox_id: str, now: datetime) -> None:
        """Give up on a dead letter for good, releasing the entries behind it;
        `UnknownDelivery` if not dead."""


def open_delivery_store(url: str, auth: tuple[str, str] | None = None,
                        database: str | None = None) -> DeliveryStore:
    """The delivery state in the store `url` names (the CMDB store URL), initialised."""
    store: DeliveryStore
    if url.startswith("sqlite:"):
        from rules.notify.sqlite_state import SQLiteDeliveryStore

        store = SQLiteDeliveryStore(url)
    elif url.startswith(NEO4J_SCHEMES):
        from rules.notify.neo4j_state import Neo4jDeliveryStore

        store = Neo4jDeliveryStore(url, auth=auth, database=database)
    else:
        raise InvalidStoreURL(
            f"unsupported store URL {url.split('://')[0]!r}: use sqlite:///file.db or bolt://host:port"
        )
    store.initialise()
    return store
