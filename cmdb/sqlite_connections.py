"""One SQLite connection per thread on one database file, in WAL mode.

Both the CMDB store and the notification delivery state open their file this way;
`close()` closes every thread's connection, not only the caller's.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from cmdb.errors import StoreUnavailable


class ThreadConnections:
    def __init__(self, path: Path, pragmas: Sequence[str] = ()) -> None:
        self.path = path
        self._pragmas = ("journal_mode=WAL", "synchronous=NORMAL", *pragmas)
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode: callers `BEGIN` themselves)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # check_same_thread off only so that `close()` may close it from elsewhere.
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
                for pragma in self._pragmas:
                    conn.execute(f"PRAGMA {pragma}")
            except (OSError, sqlite3.Error) as exc:
                raise StoreUnavailable(f"cannot open {self.path}: {exc}") from exc
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
        self._local = threading.local()
