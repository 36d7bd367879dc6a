"""The durable report spool: SQLite in WAL mode, written before a report is sent.

A report leaves the `reports` table only when the collector answered 2xx (`delivered`),
or moves to `dead_letters` when the collector refused it as malformed. The spool is
bounded by size and age: what goes first is the oldest report that carries metrics
only; a report carrying inventory is never dropped. Every drop is counted.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agent.clock import Clock
from agent.errors import SpoolError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id TEXT NOT NULL UNIQUE,
    has_inventory INTEGER NOT NULL,
    created_at REAL NOT NULL,
    size INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL
);
-- covering index: size and age bookkeeping never reads the bodies
CREATE INDEX IF NOT EXISTS reports_by_kind ON reports (has_inventory, seq, size, created_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    report_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    failed_at REAL NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value);
"""


@dataclass(frozen=True, slots=True)
class SpooledReport:
    """A report waiting to be sent; `body` is the gzip-compressed JSON, sent as is."""

    seq: int
    report_id: str
    body: bytes
    has_inventory: bool
    created_at: float
    attempts: int


@dataclass(frozen=True, slots=True)
class SpoolStatus:
    depth: int
    size_bytes: int
    inventory_reports: int
    oldest_created_at: float | None
    dead_letters: int
    dropped_reports: int
    send_failures: int
    delivered_reports: int
    last_success_at: float | None
    last_attempt_at: float | None
    last_error: str | None


class Spool:
    """One SQLite file and connection; use it from one thread at a time (the agent loop)."""

    def __init__(
        self,
        path: Path,
        clock: Clock,
        max_bytes: int = 50 * 1024 * 1024,
        max_age_seconds: float = 7 * 86400.0,
        read_only: bool = False,
    ) -> None:
        self._clock = clock
        self._max_bytes = max_bytes
        self._max_age = max_age_seconds
        self.path = path
        try:
            self._db = self._connect(path, read_only)
        except (sqlite3.Error, OSError) as exc:
            raise SpoolError(f"cannot open spool {path}: {exc}") from exc

    @staticmethod
    def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
        if read_only:
            if not path.exists():
                raise SpoolError(f"no spool at {path} (the agent has not run yet)")
            return sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        db = sqlite3.connect(path, isolation_level=None, timeout=5.0, check_same_thread=False)
        os.chmod(path, 0o600)  # reports describe the host: keep them to the agent's user
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: a report that put() returned for survives a power cut, not only a crash
        db.execute("PRAGMA synchronous=FULL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SpoolError(f"spool {path} has schema {version}, newer than this agent")
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        return db

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise SpoolError(f"spool {self.path}: {exc}") from exc

    def put(self, report_id: str, body: bytes, has_inventory: bool) -> int:
        """Store a report durably; returns how many reports were dropped to make room."""
        with self._transaction() as db:
            dropped = self._expire(db)
            freed, room = self._make_room(db, len(body))
            dropped += freed
            if room or has_inventory:
                db.execute(
                    "INSERT INTO reports (report_id, has_inventory, created_at, size, body)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (report_id, int(has_inventory), self._clock.time(), len(body), body),
                )
            else:
                dropped += 1  # nothing but inventory left: the new metrics report goes
            if dropped:
                self._add(db, "dropped_reports", dropped)
        if dropped:
            log.warning("spool full or too old: dropped %d metrics report(s)", dropped)
        return dropped

    def _expire(self, db: sqlite3.Connection) -> int:
        cutoff = self._clock.time() - self._max_age
        cursor = db.execute(
            "DELETE FROM reports WHERE has_inventory = 0 AND created_at < ?", (cutoff,)
        )
        return cursor.rowcount

    def _make_room(self, db: sqlite3.Connection, incoming: int) -> tuple[int, bool]:
        """Drop oldest metrics-only reports until `incoming` fits; (dropped, fits)."""
        excess = self._size(db) + incoming - self._max_bytes
        if excess <= 0:
            return 0, True
        doomed: list[int] = []
        for seq, size in db.execute(
            "SELECT seq, size FROM reports WHERE has_inventory = 0 ORDER BY seq"
        ):
            if excess <= 0:
                break
            doomed.append(seq)
            excess -= size
        db.executemany("DELETE FROM reports WHERE seq = ?", [(seq,) for seq in doomed])
        return len(doomed), excess <= 0

    @staticmethod
    def _size(db: sqlite3.Connection) -> int:
        return int(db.execute("SELECT COALESCE(SUM(size), 0) FROM reports").fetchone()[0])

    @staticmethod
    def _add(db: sqlite3.Connection, name: str, amount: float) -> None:
        db.execute(
            "INSERT INTO state (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, amount),
        )

    @staticmethod
    def _set(db: sqlite3.Connection, name: str, value: float | str | None) -> None:
        db.execute("INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", (name, value))

    def oldest(self) -> SpooledReport | None:
        """The report to send next (oldest first), or None when the spool is empty."""
        reports = self.oldest_reports(1)
        return reports[0] if reports else None

    def oldest_reports(self, limit: int) -> list[SpooledReport]:
        """Up to `limit` reports to send next, oldest first (a batch)."""
        try:
            rows = self._db.execute(
                "SELECT seq, report_id, body, has_inventory, created_at, attempts"
                " FROM reports ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        except sqlite3.Error as exc:
            raise SpoolError(f"spool {self.path}: {exc}") from exc
        return [SpooledReport(r[0], r[1], bytes(r[2]), bool(r[3]), r[4], r[5]) for r in rows]

    def delivered(self, *reports: SpooledReport) -> None:
        """The collector acknowledged these reports (2xx): forget them."""
        with self._transaction() as db:
            db.executemany("DELETE FROM reports WHERE seq = ?", [(r.seq,) for r in reports])
            self._add(db, "delivered_reports", len(reports))
            now = self._clock.time()
            self._set(db, "last_success_at", now)
            self._set(db, "last_attempt_at", now)

    def failed(self, *reports: SpooledReport, reason: str) -> None:
        """A send of these reports (one request) failed in a way worth retrying: keep
        them, count the attempt on each and the failure once."""
        with self._transaction() as db:
            db.executemany("UPDATE reports SET attempts = attempts + 1 WHERE seq = ?",
                           [(r.seq,) for r in reports])
            self._add(db, "send_failures", 1)
            self._set(db, "last_attempt_at", self._clock.time())
            self._set(db, "last_error", reason)

    def dead_letter(self, report: SpooledReport, status: int, reason: str) -> None:
        """The collector refused the report as bad: move it aside (kept, never retried)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO dead_letters"
                " (report_id, created_at, failed_at, status, reason, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (report.report_id, report.created_at, self._clock.time(), status, reason,
                 report.body),
            )
            db.execute("DELETE FROM reports WHERE seq = ?", (report.seq,))
            self._add(db, "dead_lettered_reports", 1)
            self._set(db, "last_attempt_at", self._clock.time())
            self._set(db, "last_error", f"HTTP {status}: {reason}")

    def status(self) -> SpoolStatus:
        """Depth, size and delivery counters (cheap: never reads report bodies)."""
        try:
            depth, size, inventory, oldest = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(has_inventory), 0),"
                " MIN(created_at) FROM reports"
            ).fetchone()
            dead = self._db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
            state = dict(self._db.execute("SELECT name, value FROM state").fetchall())
        except sqlite3.Error as exc:
            raise SpoolError(f"spool {self.path}: {exc}") from exc
        return SpoolStatus(
            depth=depth, size_bytes=size, inventory_reports=inventory,
            oldest_created_at=oldest, dead_letters=dead,
            dropped_reports=int(state.get("dropped_reports", 0)),
            send_failures=int(state.get("send_failures", 0)),
            delivered_reports=int(state.get("delivered_reports", 0)),
            last_success_at=state.get("last_success_at"),
            last_attempt_at=state.get("last_attempt_at"),
            last_error=state.get("last_error"),
        )
