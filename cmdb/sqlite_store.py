"""The embedded default store: SQLite (stdlib), one file, WAL mode.

Writers serialise on `BEGIN IMMEDIATE`; unique keys (identity, report id, open
fingerprint) are primary keys or unique indexes, so the guarantees hold across
processes sharing the file, not only within one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from cmdb import codec
from cmdb.classes import IMPACT_TYPES
from cmdb.errors import InvalidStoreURL, StoreUnavailable, UniquenessConflict
from cmdb.records import (
    ApiToken,
    AttributeChange,
    ConfigurationItem,
    Incident,
    IncidentEvent,
    Page,
    ReconcileConflict,
    Relationship,
    RuleState,
)
from cmdb.store import (
    WRITE_ATTEMPTS,
    AuditQuery,
    AuditRecord,
    CIBrief,
    CIQuery,
    EstateCounts,
    ImpactEdge,
    IncidentQuery,
    OutboxEntry,
    RelationshipKey,
)

T = TypeVar("T")


def sqlite_path(url: str) -> Path:
    """The file of a `sqlite:///relative/path.db` or `sqlite:////absolute/path.db` URL."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise InvalidStoreURL(
            f"expected sqlite:///relative.db or sqlite:////absolute.db, got {url!r}")
    return Path(url[len(prefix):])


class SQLiteStore:
    """`GraphStore` on one SQLite file."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            except (OSError, sqlite3.Error) as exc:
                raise StoreUnavailable(f"cannot open {self.path}: {exc}") from exc
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def initialise(self) -> None:
        schema = resources.files("cmdb").joinpath("sqlite_schema.sql").read_text()
        self._connection().executescript(schema)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def ping(self) -> None:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(str(exc)) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def write(self, work: Callable[[Any], T]) -> T:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self._transaction() as conn:
                    return work(_SQLiteTx(conn))
            except sqlite3.IntegrityError as exc:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise UniquenessConflict(str(exc)) from exc
            except UniquenessConflict:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
            except sqlite3.OperationalError as exc:
                raise StoreUnavailable(str(exc)) from exc
            time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def get_ci(self, ci_id: str) -> ConfigurationItem | None:
        page = self.list_cis(CIQuery(limit=1, cursor=None, ci_id=ci_id))
        return page.items[0] if page.items else None

    def get_cis(self, ci_ids: Sequence[str]) -> dict[str, ConfigurationItem]:
        rows = _in_chunks(self._connection(), "SELECT * FROM ci WHERE id IN ({marks})", ci_ids)
        return {r["id"]: codec.ci_from_row(dict(r)) for r in rows}

    def ci_for_key(self, key: str) -> str | None:
        rows = self._rows("SELECT ci_id FROM ci_identity WHERE key = ?", (key,))
        return str(rows[0]["ci_id"]) if rows else None

    def list_cis(self, query: CIQuery) -> Page[ConfigurationItem]:
        where, params = ["id > ?"], [query.cursor or ""]
        if query.ci_id:
            where.append("id = ?")
            params.append(query.ci_id)
        if query.ci_class:
            where.append("ci_class = ?")
            params.append(query.ci_class)
        if query.status:
            where.append("status = ?")
            params.append(query.status)
        if query.name_contains:
            where.append("instr(lower(name), lower(?)) > 0")
            params.append(query.name_contains)
        keys = "(SELECT group_concat(key, char(10)) FROM ci_identity WHERE ci_id = ci.id)"
        sql = f"SELECT *, {keys} AS keys FROM ci WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"  # noqa: S608 (fixed clauses)
        rows = self._rows(sql, [*params, query.limit + 1])
        items = [codec.ci_from_row(dict(r), _keys(r["keys"])) for r in rows[: query.limit]]
        more = len(rows) > query.limit
        return Page(items, items[-1].id if more and items else None)

    def history(self, ci_id: str) -> list[AttributeChange]:
        rows = self._rows("SELECT * FROM ci_history WHERE ci_id = ? ORDER BY seq", (ci_id,))
        return [codec.change_from_row(dict(r)) for r in rows]

    def relationships(self, ci_id: str) -> list[Relationship]:
        rows = self._rows(
            "SELECT * FROM relationship WHERE from_id = ? UNION ALL "
            "SELECT * FROM relationship WHERE to_id = ? AND from_id != to_id "
            "ORDER BY type, from_id, to_id", (ci_id, ci_id))
        return [codec.relationship_from_row(dict(r)) for r in rows]

    def impact_edges(self, ci_ids: Sequence[str], upstream: bool) -> list[ImpactEdge]:
        column = "to_id" if upstream else "from_id"
        kinds = ",".join("?" * len(IMPACT_TYPES))
        group = "json_extract(properties, '$.redundancy_group')"
        sql = f"SELECT from_id, type, to_id, {group} FROM relationship WHERE {column} IN ({{marks}}) AND type IN ({kinds})"  # noqa: S608, E501 (fixed names)
        rows = _in_chunks(self._connection(), sql, ci_ids, IMPACT_TYPES)
        return [ImpactEdge(r[0], r[1], r[2], None if r[3] in (None, "") else str(r[3]))
                for r in rows]

    def ci_briefs(self, ci_ids: Sequence[str]) -> dict[str, CIBrief]:
        rows = _in_chunks(self._connection(),
                          "SELECT id, name, ci_class FROM ci WHERE id IN ({marks})", ci_ids)
        return {r[0]: CIBrief(r[0], r[1], r[2]) for r in rows}

    def edges_into(self, ci_ids: Sequence[str], types: Sequence[str]) -> list[Relationship]:
        return self._edges("to_id", ci_ids, types)

    def edges_out_of(self, ci_ids: Sequence[str], types: Sequence[str]
                     ) -> list[Relationship]:
        return self._edges("from_id", ci_ids, types)

    def _edges(self, column: str, ci_ids: Sequence[str], types: Sequence[str]
               ) -> list[Relationship]:
        assert column in ("to_id", "from_id")
        kinds = ",".join("?" * len(types))
        rows = _in_chunks(
            self._connection(),
            f"SELECT * FROM relationship WHERE {column} IN ({{marks}}) "  # noqa: S608 (fixed)
            f"AND type IN ({kinds})",
            ci_ids, list(types))
        return [codec.relationship_from_row(dict(r)) for r in rows]

    def conflicts(self) -> list[ReconcileConflict]:
        rows = self._rows("SELECT * FROM reconcile_conflict ORDER BY seq")
        return [codec.conflict_from_row(dict(r)) for r in rows]

    def get_incident(self, incident_id: str) -> Incident | None:
        rows = self._rows("SELECT * FROM incident WHERE id = ?", (incident_id,))
        return codec.incident_from_row(dict(rows[0])) if rows else None

    def incident_events(self, incident_id: str) -> list[IncidentEvent]:
        rows = self._rows("SELECT * FROM incident_event WHERE incident_id = ? ORDER BY seq",
                          (incident_id,))
        return [codec.event_from_row(dict(r)) for r in rows]

    def list_incidents(self, query: IncidentQuery) -> Page[Incident]:
        where, params = ["id > ?"], [query.cursor or ""]
        if query.state == "open":
            where.append("open_fingerprint IS NOT NULL")
        elif query.state:
            where.append("state = ?")
            params.append(query.state)
        for column in ("ci_id", "priority", "assignment_group", "parent_id"):
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.root_only:
            where.append("parent_id IS NULL")
        sql = f"SELECT * FROM incident WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"  # noqa: S608 (fixed clauses)
        rows = self._rows(sql, [*params, query.limit + 1])
        items = [codec.incident_from_row(dict(r)) for r in rows[: query.limit]]
        more = len(rows) > query.limit
        return Page(items, items[-1].id if more and items else None)

    def outbox(self, limit: int = 100) -> list[OutboxEntry]:
        rows = self._rows("SELECT * FROM outbox ORDER BY seq LIMIT ?", (limit,))
        return [
            OutboxEntry(r["id"], r["incident_id"], r["receiver"], r["event"],
                        codec.from_iso(r["created_at"]), json.loads(r["payload"]))
            for r in rows
        ]

    def add_token(self, token: ApiToken) -> None:
        row = codec.token_row(token)
        self.write(lambda tx: tx.conn.execute(
            "INSERT INTO api_token VALUES (:token_hash, :role, :name, :agent_id, :created_at)",
            row))

    def token(self, token_hash: str) -> ApiToken | None:
        rows = self._rows("SELECT * FROM api_token WHERE token_hash = ?", (token_hash,))
        return codec.token_from_row(dict(rows[0])) if rows else None

    def tokens(self) -> list[ApiToken]:
        rows = self._rows("SELECT * FROM api_token ORDER BY created_at, token_hash")
        return [codec.token_from_row(dict(r)) for r in rows]

    def revoke_token(self, token_hash: str) -> bool:
        return bool(self.write(lambda tx: tx.conn.execute(
            "DELETE FROM api_token WHERE token_hash = ?", (token_hash,)).rowcount == 1))

    def audit(self, query: AuditQuery) -> Page[AuditRecord]:
        where, params = ["seq < ?"], [int(query.cursor) if query.cursor else 2**63 - 1]
        for column in ("actor", "action"):
            if getattr(query, column) is not None:
                where.append(f"{column} = ?")
                params.append(getattr(query, column))
        rows = self._rows(f"SELECT * FROM audit_log WHERE {' AND '.join(where)} "  # noqa: S608 (fixed clauses)
                          "ORDER BY seq DESC LIMIT ?", [*params, query.limit + 1])
        items = [AuditRecord.from_row(dict(r)) for r in rows[: query.limit]]
        more = len(rows) > query.limit
        return Page(items, str(rows[query.limit - 1]["seq"]) if more else None)

    def outbox_for(self, incident_id: str) -> list[OutboxEntry]:
        rows = self._rows("SELECT * FROM outbox WHERE incident_id = ? ORDER BY seq",
                          (incident_id,))
        return [OutboxEntry(r["id"], r["incident_id"], r["receiver"], r["event"],
                            codec.from_iso(r["created_at"]), json.loads(r["payload"]))
                for r in rows]

    def incidents_between(self, start: datetime, end: datetime) -> list[Incident]:
        window = (codec.iso(start), codec.iso(end))
        rows = self._rows("SELECT * FROM incident WHERE opened_at >= ? AND opened_at < ? "
                          "UNION SELECT * FROM incident WHERE resolved_at >= ? "
                          "AND resolved_at < ? ORDER BY id", (*window, *window))
        return [codec.incident_from_row(dict(r)) for r in rows]

    def incident_events_between(self, start: datetime, end: datetime,
                                kinds: Sequence[str]) -> list[IncidentEvent]:
        marks = ",".join("?" * len(kinds))
        rows = self._rows(f"SELECT * FROM incident_event WHERE kind IN ({marks}) "  # noqa: S608 (marks)
                          "AND at >= ? AND at < ? ORDER BY seq",
                          (*kinds, codec.iso(start), codec.iso(end)))
        return [codec.event_from_row(dict(r)) for r in rows]

    def count_claims(self, start: datetime, end: datetime,
                     agent_ids: Sequence[str] | None = None) -> int:
        sql = "SELECT count(*) FROM report WHERE received_at >= ? AND received_at < ?"
        params: list[object] = [codec.iso(start), codec.iso(end)]
        if agent_ids is not None:
            sql += f" AND agent_id IN ({','.join('?' * len(agent_ids))})"
            params.extend(agent_ids)
        return int(self._rows(sql, params)[0][0])

    def estate_counts(self) -> EstateCounts:
        cis = self._rows("SELECT ci_class, status, count(*) FROM ci GROUP BY 1, 2")
        open_ = self._rows("SELECT priority, count(*) FROM incident "
                           "WHERE open_fingerprint IS NOT NULL GROUP BY 1")
        outbox = self._rows("SELECT count(*) FROM outbox")
        return EstateCounts({(r[0], r[1]): int(r[2]) for r in cis},
                            {int(r[0]): int(r[1]) for r in open_}, int(outbox[0][0]))


def _in_chunks(conn: sqlite3.Connection, sql: str, values: Sequence[str],
               extra: Sequence[object] = ()) -> list[sqlite3.Row]:
    """Run `sql` with its `{marks}` IN-list filled chunk by chunk (SQLite's limit)."""
    rows: list[sqlite3.Row] = []
    for start in range(0, len(values), 500):
        chunk = list(values[start : start + 500])
        marks = ",".join("?" * len(chunk))
        rows.extend(conn.execute(sql.format(marks=marks), [*chunk, *extra]).fetchall())
    return rows


def _keys(joined: str | None) -> tuple[str, ...]:
    return tuple(sorted(joined.split("\n"))) if joined else ()


class _SQLiteTx:
    """`WriteTx` on an open SQLite transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _in(self, sql: str, values: Sequence[str]) -> list[sqlite3.Row]:
        return _in_chunks(self.conn, sql, values)

    def cis_by_keys(self, keys: Sequence[str]) -> dict[str, str]:
        rows = self._in("SELECT key, ci_id FROM ci_identity WHERE key IN ({marks})", keys)
        return {r["key"]: r["ci_id"] for r in rows}

    def load_cis(self, ids: Sequence[str]) -> dict[str, ConfigurationItem]:
        rows = self._in("SELECT * FROM ci WHERE id IN ({marks})", ids)
        return {r["id"]: codec.ci_from_row(dict(r)) for r in rows}

    def ci_classes(self, ids: Sequence[str]) -> dict[str, str]:
        rows = self._in("SELECT id, ci_class FROM ci WHERE id IN ({marks})", ids)
        return {r["id"]: r["ci_class"] for r in rows}

    def save_cis(self, cis: Sequence[ConfigurationItem]) -> None:
        self.conn.executemany(
            "INSERT INTO ci VALUES (:id, :ci_class, :name, :attributes, "
            ":attribute_sources, :sources, :status, :created_at, :updated_at, :last_seen) "
            "ON CONFLICT (id) DO UPDATE SET ci_class = excluded.ci_class, "
            "name = excluded.name, attributes = excluded.attributes, "
            "attribute_sources = excluded.attribute_sources, sources = excluded.sources, "
            "status = excluded.status, updated_at = excluded.updated_at, "
            "last_seen = excluded.last_seen",
            [codec.ci_row(ci) for ci in cis],
        )

    def attach_keys(self, keys: Sequence[tuple[str, str]]) -> None:
        self.conn.executemany("INSERT INTO ci_identity (key, ci_id) VALUES (?, ?)", keys)

    def add_history(self, changes: Sequence[AttributeChange]) -> None:
        self.conn.executemany(
            "INSERT INTO ci_history (ci_id, attribute, old, new, source, at) "
            "VALUES (:ci_id, :attribute, :old, :new, :source, :at)",
            [codec.change_row(c) for c in changes],
        )

    def add_conflicts(self, conflicts: Sequence[ReconcileConflict]) -> None:
        self.conn.executemany(
            "INSERT INTO reconcile_conflict (source, chosen_ci_id, other_ci_id, key, at) "
            "VALUES (:source, :chosen_ci_id, :other_ci_id, :key, :at)",
            [codec.conflict_row(c) for c in conflicts],
        )

    def load_relationships(self, keys: Sequence[RelationshipKey]
                           ) -> dict[RelationshipKey, Relationship]:
        found: dict[RelationshipKey, Relationship] = {}
        for key in keys:
            row = self.conn.execute(
                "SELECT * FROM relationship WHERE from_id = ? AND type = ? AND to_id = ?", key
            ).fetchone()
            if row is not None:
                found[key] = codec.relationship_from_row(dict(row))
        return found

    def save_relationships(self, relationships: Sequence[Relationship]) -> None:
        self.conn.executemany(
            "INSERT INTO relationship VALUES (:from_id, :type, :to_id, :properties, :sources, "
            ":last_seen) ON CONFLICT (from_id, type, to_id) DO UPDATE SET "
            "properties = excluded.properties, sources = excluded.sources, "
            "last_seen = excluded.last_seen",
            [codec.relationship_row(r) for r in relationships],
        )

    def delete_relationships(self, keys: Sequence[RelationshipKey]) -> int:
        deleted = 0
        for key in keys:
            deleted += self.conn.execute(
                "DELETE FROM relationship WHERE from_id = ? AND type = ? AND to_id = ?", key
            ).rowcount
        return deleted

    def cis_last_seen_before(self, cutoff: datetime, status: str) -> list[ConfigurationItem]:
        rows = self.conn.execute(
            "SELECT * FROM ci WHERE status = ? AND last_seen < ? ORDER BY id",
            (status, codec.iso(cutoff))).fetchall()
        return [codec.ci_from_row(dict(r)) for r in rows]

    def claim_report(self, report_id: str, agent_id: str, at: datetime) -> bool:
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO report VALUES (?, ?, ?)", (report_id, agent_id, codec.iso(at))
        )
        return cursor.rowcount == 1

    def _incidents(self, where: str, values: Sequence[str], extra: Sequence[object] = ()
                   ) -> list[Incident]:
        rows = _in_chunks(self.conn, f"SELECT * FROM incident WHERE {where}", values, extra)  # noqa: S608 (fixed clauses)
        return [codec.incident_from_row(dict(r)) for r in rows]

    def open_incidents(self, fingerprints: Sequence[str]) -> dict[str, Incident]:
        found = self._incidents("open_fingerprint IN ({marks})", fingerprints)
        return {i.fingerprint: i for i in found}

    def open_incidents_on(self, ci_ids: Sequence[str]) -> list[Incident]:
        return self._incidents("ci_id IN ({marks}) AND open_fingerprint IS NOT NULL", ci_ids)

    def incidents_by_id(self, ids: Sequence[str]) -> dict[str, Incident]:
        return {i.id: i for i in self._incidents("id IN ({marks})", ids)}

    def children_of(self, parent_ids: Sequence[str]) -> list[Incident]:
        return self._incidents("parent_id IN ({marks}) ORDER BY id", parent_ids)

    def due_incidents(self, now: datetime, limit: int) -> list[Incident]:
        rows = self.conn.execute(
            "SELECT * FROM incident WHERE open_fingerprint IS NOT NULL AND due_at <= ? "
            "ORDER BY due_at LIMIT ?", (codec.iso(now), limit)).fetchall()
        return [codec.incident_from_row(dict(r)) for r in rows]

    def last_resolved(self, fingerprints: Sequence[str], since: datetime
                      ) -> dict[str, Incident]:
        found: dict[str, Incident] = {}
        for incident in self._incidents(
                "fingerprint IN ({marks}) AND resolved_at >= ? ORDER BY resolved_at",
                fingerprints, [codec.iso(since)]):
            if incident.state == "resolved":  # a closed incident is never reopened
                found[incident.fingerprint] = incident
        return found

    def insert_incident(self, incident: Incident) -> None:
        row = codec.incident_row(incident)
        try:
            self.conn.execute(
                f"INSERT INTO incident ({', '.join(row)}) "  # noqa: S608 (codec's own keys)
                f"VALUES ({', '.join(':' + k for k in row)})", row)
        except sqlite3.IntegrityError as exc:
            raise UniquenessConflict(f"open incident for {incident.fingerprint}") from exc

    def update_incident(self, incident: Incident) -> None:
        row = codec.incident_row(incident)
        assignments = ", ".join(f"{k} = :{k}" for k in row if k not in ("id", "fingerprint"))
        try:
            self.conn.execute(f"UPDATE incident SET {assignments} WHERE id = :id", row)  # noqa: S608 (codec's own keys)
        except sqlite3.IntegrityError as exc:
            raise UniquenessConflict(f"open incident for {incident.fingerprint}") from exc

    def add_incident_events(self, events: Sequence[IncidentEvent]) -> None:
        self.conn.executemany(
            "INSERT INTO incident_event (incident_id, at, kind, actor, detail) "
            "VALUES (:incident_id, :at, :kind, :actor, :detail)",
            [codec.event_row(e) for e in events])

    def load_rule_states(self, fingerprints: Sequence[str]) -> dict[str, RuleState]:
        rows = self._in("SELECT * FROM rule_state WHERE fingerprint IN ({marks})", fingerprints)
        return {r["fingerprint"]: codec.rule_state_from_row(dict(r)) for r in rows}

    def save_rule_states(self, states: Sequence[RuleState]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO rule_state VALUES (:fingerprint, :rule, :ci_id, :data, "
            ":due_at)", [codec.rule_state_row(s) for s in states])

    def drop_rule_states(self, fingerprints: Sequence[str]) -> None:
        self.conn.executemany("DELETE FROM rule_state WHERE fingerprint = ?",
                              [(fp,) for fp in fingerprints])

    def due_rule_states(self, now: datetime, limit: int) -> list[RuleState]:
        rows = self.conn.execute(
            "SELECT * FROM rule_state WHERE due_at <= ? ORDER BY due_at LIMIT ?",
            (codec.iso(now), limit)).fetchall()
        return [codec.rule_state_from_row(dict(r)) for r in rows]

    def add_audit(self, records: Sequence[AuditRecord]) -> None:
        self.conn.executemany(
            "INSERT INTO audit_log (at, actor, role, action, target, detail) "
            "VALUES (:at, :actor, :role, :action, :target, :detail)",
            [r.row() for r in records])

    def enqueue(self, entries: Sequence[OutboxEntry]) -> None:
        base = self.conn.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0]
        self.conn.executemany(
            "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(e.id, base + i + 1, e.incident_id, e.receiver, e.event, codec.iso(e.created_at),
              codec.dumps(e.payload)) for i, e in enumerate(entries)],
        )
