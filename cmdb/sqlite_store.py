"""The embedded default store: SQLite (stdlib), one file, WAL mode.

Writers serialise on `BEGIN IMMEDIATE`; unique keys (identity, report id, open
fingerprint) are primary keys or unique indexes, so the guarantees hold across
processes sharing the file, not only within one.
"""

from __future__ import annotations

import json
import sqlite3
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
)
from cmdb.sqlite_connections import ThreadConnections
from cmdb.sqlite_tx import SQLiteTx, in_chunks, split_keys
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
        self._connections = ThreadConnections(self.path, ("foreign_keys=ON",))

    def _connection(self) -> sqlite3.Connection:
        return self._connections.get()

    def initialise(self) -> None:
        schema = resources.files("cmdb").joinpath("sqlite_schema.sql").read_text()
        self._connection().executescript(schema)

    def close(self) -> None:
        self._connections.close()

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
                    return work(SQLiteTx(conn))
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
        rows = in_chunks(self._connection(), "SELECT * FROM ci WHERE id IN ({marks})", ci_ids)
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
        items = [codec.ci_from_row(dict(r), split_keys(r["keys"])) for r in rows[: query.limit]]
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
        rows = in_chunks(self._connection(), sql, ci_ids, IMPACT_TYPES)
        return [ImpactEdge(r[0], r[1], r[2], None if r[3] in (None, "") else str(r[3]))
                for r in rows]

    def ci_briefs(self, ci_ids: Sequence[str]) -> dict[str, CIBrief]:
        rows = in_chunks(self._connection(),
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
        rows = in_chunks(
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
