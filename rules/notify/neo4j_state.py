"""Delivery state in the CMDB's Neo4j database, under labels of its own:
`NotifyDelivery` (one per outbox entry), `NotifyCursor` (per receiver),
`NotifyTicketRef` and `NotifyLock`. Claims serialise on the one `NotifyLock` node,
which each claim transaction writes first: read-committed isolation then shows every
claimer the leases of the claimers before it. Every query is parameterised."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import neo4j
from neo4j import exceptions as neo4j_errors

from cmdb.errors import StoreUnavailable
from cmdb.records import Page
from rules.notify.errors import UnknownDelivery
from rules.notify.model import (
    DeadLetter,
    Delivered,
    DeliveryCounts,
    DeliveryState,
    Notification,
    Outcome,
    Parked,
    RetryLater,
    TicketRef,
    parse_stamp,
    stamp,
)
from rules.notify.state import INGEST_BATCH

SCHEMA = (
    "CREATE CONSTRAINT notify_delivery_id IF NOT EXISTS "
    "FOR (d:NotifyDelivery) REQUIRE d.outbox_id IS UNIQUE",
    "CREATE CONSTRAINT notify_cursor_receiver IF NOT EXISTS "
    "FOR (c:NotifyCursor) REQUIRE c.receiver IS UNIQUE",
    "CREATE CONSTRAINT notify_ticket_ref IF NOT EXISTS "
    "FOR (t:NotifyTicketRef) REQUIRE (t.incident_id, t.receiver) IS UNIQUE",
    "CREATE CONSTRAINT notify_lock_name IF NOT EXISTS FOR (l:NotifyLock) REQUIRE l.name IS UNIQUE",
    # (state, receiver, seq): a claim walks one receiver's pending entries in seq order
    # and stops at its limit, however many are pending.
    "CREATE INDEX notify_delivery_queue IF NOT EXISTS "
    "FOR (d:NotifyDelivery) ON (d.state, d.receiver, d.seq)",
    # The outbox is the rules engine's; this index only serves the ingest's range seek
    # (receiver, seq > cursor) and would sit as well in the CMDB store's schema.
    "CREATE INDEX notify_outbox_receiver_seq IF NOT EXISTS FOR (o:Outbox) ON (o.receiver, o.seq)",
    "CREATE INDEX notify_delivery_chain IF NOT EXISTS "
    "FOR (d:NotifyDelivery) ON (d.incident_id, d.receiver)",
    "MERGE (:NotifyLock {name: 'claim'})",
)

_HEAD = (
    "NOT EXISTS { MATCH (p:NotifyDelivery {incident_id: d.incident_id, receiver: d.receiver}) "
    "WHERE p.seq < d.seq AND p.state IN ['pending', 'dead'] }"
)
_INGEST = (
    "OPTIONAL MATCH (c:NotifyCursor {receiver: $receiver}) WITH coalesce(c.seq, 0) AS after "
    "MATCH (o:Outbox) WHERE o.receiver = $receiver AND o.seq > after "
    "WITH o ORDER BY o.receiver, o.seq LIMIT $limit "
    "MERGE (d:NotifyDelivery {outbox_id: o.id}) ON CREATE SET d.seq = o.seq, "
    "d.incident_id = o.incident_id, d.receiver = o.receiver, d.state = 'pending', "
    "d.attempts = 0, d.failures = 0, d.next_attempt_at = $now, d.updated_at = $now "
    "WITH max(o.seq) AS last WHERE last IS NOT NULL "
    "MERGE (c:NotifyCursor {receiver: $receiver}) SET c.seq = last"
)
# ORDER BY names the whole index key so that the index order is used (no sort).
_LEASE = (
    "MATCH (d:NotifyDelivery) WHERE d.state = 'pending' AND d.receiver = $receiver "
    "AND d.seq > 0 AND d.next_attempt_at <= $now "
    "AND (d.lease_until IS NULL OR d.lease_until <= $now) "
    f"AND {_HEAD} WITH d ORDER BY d.state, d.receiver, d.seq LIMIT $limit "
    "SET d.lease_owner = $owner, d.lease_until = $until, d.attempts = d.attempts + 1 "
    "WITH d MATCH (o:Outbox {id: d.outbox_id}) "
    "OPTIONAL MATCH (t:NotifyTicketRef {incident_id: d.incident_id, receiver: d.receiver}) "
    "RETURN o {.*} AS o, d.attempts AS attempts, t {.*} AS t"
)
_DELIVERED = (
    "UNWIND $rows AS r MATCH (d:NotifyDelivery {outbox_id: r.id}) WHERE d.state = 'pending' "
    "SET d.state = 'delivered', d.delivered_at = r.at, d.last_status = r.status, "
    "d.updated_at = r.at REMOVE d.lease_owner, d.lease_until"
)
_TICKETS = (
    "UNWIND $rows AS r MERGE (t:NotifyTicketRef {incident_id: r.incident_id, "
    "receiver: r.receiver}) SET t.external_id = r.id, t.external_key = r.key"
)
_RETRY = (
    "UNWIND $rows AS r MATCH (d:NotifyDelivery {outbox_id: r.id}) "
    "WHERE d.state = 'pending' AND d.lease_owner = $owner "
    "SET d.next_attempt_at = r.next, d.failures = d.failures + 1, d.last_status = r.status, "
    "d.last_error = r.error, d.updated_at = r.at REMOVE d.lease_owner, d.lease_until"
)
_PARKED = (
    "UNWIND $rows AS r MATCH (d:NotifyDelivery {outbox_id: r.id}) "
    "WHERE d.state = 'pending' AND d.lease_owner = $owner "
    "SET d.state = 'dead', d.failures = d.failures + 1, d.last_status = r.status, "
    "d.last_error = r.error, d.response_body = r.body, d.updated_at = r.at "
    "REMOVE d.lease_owner, d.lease_until"
)

# TransientError: a deadlock or lock timeout that outlived the driver's own retries.
_UNAVAILABLE = (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired,
                neo4j_errors.TransientError, OSError)


class Neo4jDeliveryStore:
    """`DeliveryStore` on the CMDB's Neo4j server."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None,
                 database: str | None = None) -> None:
        self.url = url
        self._database = database
        self._driver = neo4j.GraphDatabase.driver(
            url, auth=auth, connection_timeout=5.0, max_transaction_retry_time=10.0,
            notifications_min_severity="OFF")

    def initialise(self) -> None:
        try:
            with self._driver.session(database=self._database) as session:
                for statement in SCHEMA:
                    session.run(statement).consume()
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"neo4j at {self.url}: {exc}") from exc

    def close(self) -> None:
        self._driver.close()

    def _write(self, work: Any) -> Any:
        try:
            with self._driver.session(database=self._database) as session:
                return session.execute_write(work)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"neo4j at {self.url}: {exc}") from exc

    def _read(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            with self._driver.session(database=self._database,
                                      default_access_mode=neo4j.READ_ACCESS) as session:
                return [r.data() for r in session.run(query, params)]
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"neo4j at {self.url}: {exc}") from exc

    def claim(self, limits: Mapping[str, int], owner: str, now: datetime,
              lease_until: datetime, settle: Sequence[Outcome] = ()) -> list[Notification]:
        settling = _outcome_rows(settle)

        def work(tx: neo4j.ManagedTransaction) -> list[Notification]:
            _record(tx, owner, settling)
            # MERGE, not MATCH: the lock node may have been wiped; the constraint keeps it one.
            tx.run("MERGE (l:NotifyLock {name: 'claim'}) SET l.at = $now",
                   {"now": stamp(now)}).consume()
            claimed: list[Notification] = []
            for receiver, limit in sorted(limits.items()):
                tx.run(_INGEST, {"receiver": receiver, "now": stamp(now),
                                 "limit": INGEST_BATCH}).consume()
                if limit > 0:
                    rows = tx.run(_LEASE, {"receiver": receiver, "now": stamp(now),
                                           "limit": limit, "owner": owner,
                                           "until": stamp(lease_until)}).data()
                    claimed.extend(_notification(r["o"], r["attempts"], r["t"]) for r in rows)
            return sorted(claimed, key=lambda n: n.seq)

        result: list[Notification] = self._write(work)
        return result

    def record(self, owner: str, outcomes: Sequence[Outcome]) -> None:
        rows = _outcome_rows(outcomes)
        if outcomes:
            self._write(lambda tx: _record(tx, owner, rows))

    def next_due(self, receivers: Sequence[str]) -> datetime | None:
        rows = self._read(
            "MATCH (d:NotifyDelivery {state: 'pending'}) WHERE d.receiver IN $receivers "
            f"AND {_HEAD} RETURN min(CASE WHEN d.lease_until > d.next_attempt_at "
            "THEN d.lease_until ELSE d.next_attempt_at END) AS due",
            {"receivers": list(receivers)})
        due = rows[0]["due"] if rows else None
        return parse_stamp(due) if due else None

    def ticket_ref(self, incident_id: str, receiver: str) -> TicketRef | None:
        rows = self._read(
            "MATCH (t:NotifyTicketRef {incident_id: $incident, receiver: $receiver}) "
            "RETURN t {.*} AS t", {"incident": incident_id, "receiver": receiver})
        if not rows:
            return None
        t = rows[0]["t"]
        return TicketRef(t["incident_id"], t["receiver"], t["external_id"],
                         t.get("external_key"))

    def save_ticket_ref(self, ref: TicketRef) -> None:
        def work(tx: neo4j.ManagedTransaction) -> None:
            tx.run("MERGE (t:NotifyTicketRef {incident_id: $incident, receiver: $receiver}) "
                   "SET t.external_id = $id, t.external_key = $key",
                   {"incident": ref.incident_id, "receiver": ref.receiver,
                    "id": ref.external_id, "key": ref.external_key}).consume()

        self._write(work)

    def counts(self, receivers: Sequence[str] = ()) -> DeliveryCounts:
        rows = self._read("MATCH (d:NotifyDelivery) RETURN d.state AS state, count(*) AS n, "
                          "sum(d.failures) AS failures", {})
        by_state = {r["state"]: int(r["n"]) for r in rows}
        failures = sum(int(r["failures"] or 0) for r in rows)
        unseen = 0
        for receiver in receivers:
            unseen += int(self._read(
                "OPTIONAL MATCH (c:NotifyCursor {receiver: $receiver}) "
                "WITH coalesce(c.seq, 0) AS after MATCH (o:Outbox) "
                "WHERE o.receiver = $receiver AND o.seq > after RETURN count(o) AS n",
                {"receiver": receiver})[0]["n"])
        return DeliveryCounts(
            pending=by_state.get("pending", 0) + unseen, delivered=by_state.get("delivered", 0),
            dead=by_state.get("dead", 0), discarded=by_state.get("discarded", 0),
            failures=failures)

    def state_of(self, outbox_id: str) -> DeliveryState | None:
        rows = self._read("MATCH (d:NotifyDelivery {outbox_id: $id}) RETURN d.state AS state",
                          {"id": outbox_id})
        return rows[0]["state"] if rows else None

    def dead_letters(self, limit: int = 100, cursor: str | None = None
                     ) -> Page[DeadLetter]:
        rows = self._read(
            "MATCH (d:NotifyDelivery {state: 'dead'}) WHERE d.seq > $after "
            "WITH d ORDER BY d.seq LIMIT $limit MATCH (o:Outbox {id: d.outbox_id}) "
            "RETURN d {.*} AS d, o.event AS event, o.created_at AS created_at ORDER BY d.seq",
            {"after": int(cursor or 0), "limit": limit + 1})
        items = [_dead_letter(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, str(items[-1].seq) if more and items else None)

    def requeue(self, outbox_id: str, now: datetime) -> None:
        self._from_dead(outbox_id, "pending", now)

    def discard(self, outbox_id: str, now: datetime) -> None:
        self._from_dead(outbox_id, "discarded", now)

    def _from_dead(self, outbox_id: str, state: str, now: datetime) -> None:
        def work(tx: neo4j.ManagedTransaction) -> int:
            rows = tx.run("MATCH (d:NotifyDelivery {outbox_id: $id, state: 'dead'}) "
                          "SET d.state = $state, d.next_attempt_at = $now, d.updated_at = $now "
                          "RETURN count(d) AS n",
                          {"id": outbox_id, "state": state, "now": stamp(now)}).data()
            return int(rows[0]["n"])

        if self._write(work) != 1:
            raise UnknownDelivery(f"no dead letter {outbox_id!r}")


OutcomeRows = list[tuple[str, list[dict[str, Any]]]]


def _outcome_rows(outcomes: Sequence[Outcome]) -> OutcomeRows:
    """Query parameters per outcome kind; tickets first, before their delivery."""
    delivered = [{"id": o.outbox_id, "at": stamp(o.at), "status": o.status}
                 for o in outcomes if isinstance(o, Delivered)]
    retry = [{"id": o.outbox_id, "at": stamp(o.at), "next": stamp(o.next_attempt_at),
              "error": o.error, "status": o.status}
             for o in outcomes if isinstance(o, RetryLater)]
    parked = [{"id": o.outbox_id, "at": stamp(o.at), "error": o.error, "status": o.status,
               "body": o.body} for o in outcomes if isinstance(o, Parked)]
    tickets = [{"incident_id": o.ticket.incident_id, "receiver": o.ticket.receiver,
                "id": o.ticket.external_id, "key": o.ticket.external_key}
               for o in outcomes if isinstance(o, Delivered) and o.ticket is not None]
    return [(_TICKETS, tickets), (_DELIVERED, delivered), (_RETRY, retry), (_PARKED, parked)]


def _record(tx: neo4j.ManagedTransaction, owner: str, rows: OutcomeRows) -> None:
    for query, params in rows:
        if params:
            tx.run(query, {"rows": params, "owner": owner}).consume()


def _notification(o: dict[str, Any], attempts: int, t: dict[str, Any] | None
                  ) -> Notification:
    ticket = None if t is None else TicketRef(t["incident_id"], t["receiver"],
                                              t["external_id"], t.get("external_key"))
    return Notification(o["id"], int(o["seq"]), o["incident_id"], o["receiver"], o["event"],
                        parse_stamp(o["created_at"]), json.loads(o["payload"]), int(attempts),
                        ticket)


def _dead_letter(row: dict[str, Any]) -> DeadLetter:
    d = row["d"]
    return DeadLetter(
        outbox_id=d["outbox_id"], seq=int(d["seq"]), incident_id=d["incident_id"],
        receiver=d["receiver"], event=row["event"], created_at=parse_stamp(row["created_at"]),
        attempts=int(d["attempts"]), failed_at=parse_stamp(d["updated_at"]),
        error=d.get("last_error") or "", status=d.get("last_status"),
        body=d.get("response_body"))
