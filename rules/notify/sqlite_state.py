"""Delivery state in the CMDB's SQLite file, through a connection of its own and in
tables of its own (`outbox_delivery`, `outbox_cursor`, `ticket_ref`). Claims run
under `BEGIN IMMEDIATE`, so processes sharing the file claim one at a time."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime

from cmdb.errors import StoreUnavailable
from cmdb.records import Page
from cmdb.sqlite_connections import ThreadConnections
from cmdb.sqlite_store import sqlite_path
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

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_delivery (
    outbox_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    incident_id TEXT NOT NULL,
    receiver TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    last_status INTEGER,
    last_error TEXT,
    response_body TEXT,
    delivered_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_delivery_chain
    ON outbox_delivery (incident_id, receiver, seq);
CREATE INDEX IF NOT EXISTS outbox_delivery_pending
    ON outbox_delivery (receiver, seq) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_delivery_dead ON outbox_delivery (seq) WHERE state = 'dead';
CREATE TABLE IF NOT EXISTS outbox_cursor (
    receiver TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ticket_ref (
    incident_id TEXT NOT NULL,
    receiver TEXT NOT NULL,
    external_id TEXT NOT NULL,
    external_key TEXT,
    PRIMARY KEY (incident_id, receiver)
) WITHOUT ROWID;
"""

# A chain head: no earlier entry of the same incident and receiver is still pending
# or dead (delivered and discarded ones no longer hold it back).
_HEAD = (
    "NOT EXISTS (SELECT 1 FROM outbox_delivery p WHERE p.incident_id = d.incident_id "
    "AND p.receiver = d.receiver AND p.seq < d.seq AND p.state IN ('pending', 'dead'))"
)
_CLAIMABLE = (  # fixed text only
    "SELECT d.outbox_id FROM outbox_delivery d WHERE d.state = 'pending' "  # noqa: S608
    "AND d.receiver = :receiver AND d.next_attempt_at <= :now "
    f"AND (d.lease_until IS NULL OR d.lease_until <= :now) AND {_HEAD} "
    "ORDER BY d.seq LIMIT :limit"
)


class SQLiteDeliveryStore:
    """`DeliveryStore` on the CMDB's SQLite file."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._connections = ThreadConnections(self.path)
        # This process's writers queue here rather than in SQLite's busy handler, which
        # sleeps in steps of up to 100 ms while another connection holds the lock.
        self._write_lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        return self._connections.get()

    def initialise(self) -> None:
        self._connection().executescript(SCHEMA)

    def close(self) -> None:
        self._connections.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        with self._write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreUnavailable(str(exc)) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # locked too long, disk I/O, ...
                conn.execute("ROLLBACK")
                raise StoreUnavailable(str(exc)) from exc
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()
              ) -> list[sqlite3.Row]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def claim(self, limits: Mapping[str, int], owner: str, now: datetime,
              lease_until: datetime, settle: Sequence[Outcome] = ()) -> list[Notification]:
        claimed: list[Notification] = []
        with self._transaction() as conn:
            for outcome in settle:
                _apply(conn, owner, outcome)
            for receiver, limit in sorted(limits.items()):
                _ingest(conn, receiver, now)
                if limit > 0:
                    claimed.extend(_lease(conn, receiver, limit, owner, now, lease_until))
        return sorted(claimed, key=lambda n: n.seq)

    def record(self, owner: str, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        with self._transaction() as conn:
            for outcome in outcomes:
                _apply(conn, owner, outcome)

    def next_due(self, receivers: Sequence[str]) -> datetime | None:
        marks = ",".join("?" * len(receivers))
        rows = self._rows(
            "SELECT min(max(d.next_attempt_at, coalesce(d.lease_until, ''))) FROM "  # noqa: S608
            f"outbox_delivery d WHERE d.state = 'pending' AND d.receiver IN ({marks}) "
            f"AND {_HEAD}", list(receivers))  # (placeholders and fixed text only)
        value = rows[0][0] if rows else None
        return parse_stamp(value) if value else None

    def ticket_ref(self, incident_id: str, receiver: str) -> TicketRef | None:
        rows = self._rows("SELECT * FROM ticket_ref WHERE incident_id = ? AND receiver = ?",
                          (incident_id, receiver))
        if not rows:
            return None
        r = rows[0]
        return TicketRef(r["incident_id"], r["receiver"], r["external_id"], r["external_key"])

    def save_ticket_ref(self, ref: TicketRef) -> None:
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO ticket_ref VALUES (?, ?, ?, ?)",
                         (ref.incident_id, ref.receiver, ref.external_id, ref.external_key))

    def counts(self, receivers: Sequence[str] = ()) -> DeliveryCounts:
        by_state: dict[str, int] = {}
        failures = 0
        for row in self._rows("SELECT state, count(*), coalesce(sum(failures), 0) "
                              "FROM outbox_delivery GROUP BY state"):
            by_state[row[0]] = int(row[1])
            failures += int(row[2])
        unseen = sum(self._unseen(r) for r in receivers)
        return DeliveryCounts(
            pending=by_state.get("pending", 0) + unseen, delivered=by_state.get("delivered", 0),
            dead=by_state.get("dead", 0), discarded=by_state.get("discarded", 0),
            failures=failures)

    def _unseen(self, receiver: str) -> int:
        rows = self._rows(
            "SELECT count(*) FROM outbox WHERE receiver = ? AND seq > coalesce("
            "(SELECT seq FROM outbox_cursor WHERE receiver = ?), 0)", (receiver, receiver))
        return int(rows[0][0])

    def state_of(self, outbox_id: str) -> DeliveryState | None:
        rows = self._rows("SELECT state FROM outbox_delivery WHERE outbox_id = ?", (outbox_id,))
        return rows[0][0] if rows else None

    def dead_letters(self, limit: int = 100, cursor: str | None = None
                     ) -> Page[DeadLetter]:
        rows = self._rows(
            "SELECT d.*, o.event, o.created_at FROM outbox_delivery d "
            "JOIN outbox o ON o.id = d.outbox_id WHERE d.state = 'dead' AND d.seq > ? "
            "ORDER BY d.seq LIMIT ?", (int(cursor or 0), limit + 1))
        items = [_dead_letter(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, str(items[-1].seq) if more and items else None)

    def requeue(self, outbox_id: str, now: datetime) -> None:
        self._from_dead(outbox_id, "state = 'pending', next_attempt_at = ?", now)

    def discard(self, outbox_id: str, now: datetime) -> None:
        self._from_dead(outbox_id, "state = 'discarded', next_attempt_at = ?", now)

    def _from_dead(self, outbox_id: str, assignments: str, now: datetime) -> None:
        with self._transaction() as conn:
            changed = conn.execute(
                f"UPDATE outbox_delivery SET {assignments}, updated_at = ? "  # noqa: S608 (fixed)
                "WHERE outbox_id = ? AND state = 'dead'",
                (stamp(now), stamp(now), outbox_id)).rowcount
        if changed != 1:
            raise UnknownDelivery(f"no dead letter {outbox_id!r}")


def _ingest(conn: sqlite3.Connection, receiver: str, now: datetime) -> None:
    """Copy the receiver's outbox entries past its cursor into the delivery state."""
    row = conn.execute("SELECT seq FROM outbox_cursor WHERE receiver = ?", (receiver,)
                       ).fetchone()
    rows = conn.execute(
        "SELECT id, seq, incident_id FROM outbox WHERE receiver = ? AND seq > ? "
        "ORDER BY seq LIMIT ?", (receiver, row[0] if row else 0, INGEST_BATCH)).fetchall()
    if not rows:
        return
    at = stamp(now)
    conn.executemany(
        "INSERT OR IGNORE INTO outbox_delivery (outbox_id, seq, incident_id, receiver, "
        "state, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
        [(r["id"], r["seq"], r["incident_id"], receiver, at, at) for r in rows])
    conn.execute("INSERT INTO outbox_cursor VALUES (?, ?) ON CONFLICT (receiver) "
                 "DO UPDATE SET seq = excluded.seq", (receiver, rows[-1]["seq"]))


def _lease(conn: sqlite3.Connection, receiver: str, limit: int, owner: str, now: datetime,
           lease_until: datetime) -> list[Notification]:
    ids = [r[0] for r in conn.execute(
        _CLAIMABLE, {"receiver": receiver, "now": stamp(now), "limit": limit})]
    if not ids:
        return []
    conn.executemany(
        "UPDATE outbox_delivery SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 "
        "WHERE outbox_id = ?", [(owner, stamp(lease_until), i) for i in ids])
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        "SELECT o.*, d.attempts, t.external_id, t.external_key FROM outbox o "  # noqa: S608
        "JOIN outbox_delivery d ON d.outbox_id = o.id LEFT JOIN ticket_ref t "
        "ON t.incident_id = o.incident_id AND t.receiver = o.receiver "
        f"WHERE o.id IN ({marks})", ids).fetchall()
    return [Notification(r["id"], r["seq"], r["incident_id"], r["receiver"], r["event"],
                         parse_stamp(r["created_at"]), json.loads(r["payload"]), r["attempts"],
                         None if r["external_id"] is None else TicketRef(
                             r["incident_id"], r["receiver"], r["external_id"],
                             r["external_key"]))
            for r in rows]


def _apply(conn: sqlite3.Connection, owner: str, outcome: Outcome) -> None:
    match outcome:
        case Delivered(outbox_id, at, status, ticket):
            if ticket is not None:  # kept even if another dispatcher recorded it first
                conn.execute("INSERT OR REPLACE INTO ticket_ref VALUES (?, ?, ?, ?)",
                             (ticket.incident_id, ticket.receiver, ticket.external_id,
                              ticket.external_key))
            conn.execute(
                "UPDATE outbox_delivery SET state = 'delivered', delivered_at = ?, "
                "last_status = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? "
                "WHERE outbox_id = ? AND state = 'pending'",
                (stamp(at), status, stamp(at), outbox_id))
        case RetryLater(outbox_id, at, next_attempt_at, error, status):
            conn.execute(
                "UPDATE outbox_delivery SET next_attempt_at = ?, failures = failures + 1, "
                "last_status = ?, last_error = ?, lease_owner = NULL, lease_until = NULL, "
                "updated_at = ? WHERE outbox_id = ? AND state = 'pending' AND lease_owner = ?",
                (stamp(next_attempt_at), status, error, stamp(at), outbox_id, owner))
        case Parked(outbox_id, at, error, status, body):
            conn.execute(
                "UPDATE outbox_delivery SET state = 'dead', failures = failures + 1, "
                "last_status = ?, last_error = ?, response_body = ?, lease_owner = NULL, "
                "lease_until = NULL, updated_at = ? "
                "WHERE outbox_id = ? AND state = 'pending' AND lease_owner = ?",
                (status, error, body, stamp(at), outbox_id, owner))


def _dead_letter(r: sqlite3.Row) -> DeadLetter:
    return DeadLetter(
        outbox_id=r["outbox_id"], seq=r["seq"], incident_id=r["incident_id"],
        receiver=r["receiver"], event=r["event"], created_at=parse_stamp(r["created_at"]),
        attempts=r["attempts"], failed_at=parse_stamp(r["updated_at"]),
        error=r["last_error"] or "", status=r["last_status"], body=r["response_body"])
