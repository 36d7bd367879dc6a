"""`WriteTx` on an open SQLite transaction (`BEGIN IMMEDIATE`), and the IN-list helper
both the store and its transactions use."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from cmdb import codec
from cmdb.errors import UniquenessConflict
from cmdb.records import (
    AttributeChange,
    ConfigurationItem,
    Incident,
    IncidentEvent,
    ReconcileConflict,
    Relationship,
    RuleState,
)
from cmdb.store import (
    AuditRecord,
    OutboxEntry,
    RelationshipKey,
)


def in_chunks(conn: sqlite3.Connection, sql: str, values: Sequence[str],
               extra: Sequence[object] = ()) -> list[sqlite3.Row]:
    """Run `sql` with its `{marks}` IN-list filled chunk by chunk (SQLite's limit)."""
    rows: list[sqlite3.Row] = []
    for start in range(0, len(values), 500):
        chunk = list(values[start : start + 500])
        marks = ",".join("?" * len(chunk))
        rows.extend(conn.execute(sql.format(marks=marks), [*chunk, *extra]).fetchall())
    return rows


def split_keys(joined: str | None) -> tuple[str, ...]:
    return tuple(sorted(joined.split("\n"))) if joined else ()


class SQLiteTx:
    """`WriteTx` on an open SQLite transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _in(self, sql: str, values: Sequence[str]) -> list[sqlite3.Row]:
        return in_chunks(self.conn, sql, values)

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
        rows = in_chunks(self.conn, f"SELECT * FROM incident WHERE {where}", values, extra)  # noqa: S608 (fixed clauses)
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
