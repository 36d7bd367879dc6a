from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from agent_fakes import FakeClock

from agent.errors import SpoolError
from agent.spool import Spool

KB = b"x" * 1000


def spool_at(
    tmp_path: Path, clock: FakeClock, max_bytes: int = 10**6, max_age_seconds: float = 86400.0
) -> Spool:
    return Spool(tmp_path / "spool" / "spool.db", clock, max_bytes, max_age_seconds)


def ids(spool: Spool) -> list[str]:
    found = []
    while (report := spool.oldest()) is not None:
        found.append(report.report_id)
        spool.delivered(report)
    return found


def test_reports_come_out_oldest_first_and_survive_a_reopen(tmp_path: Path) -> None:
    clock = FakeClock()
    spool = spool_at(tmp_path, clock)
    for name in ("r1", "r2", "r3"):
        spool.put(name, b"body-" + name.encode(), has_inventory=False)
        clock.advance(1)
    spool.close()
    reopened = spool_at(tmp_path, clock)
    first = reopened.oldest()
    assert first is not None
    assert (first.report_id, first.body) == ("r1", b"body-r1")
    assert ids(reopened) == ["r1", "r2", "r3"]
    status = reopened.status()
    assert (status.depth, status.delivered_reports, status.last_success_at) == (0, 3, clock.wall)


def test_spool_uses_wal_and_is_private(tmp_path: Path) -> None:
    spool = spool_at(tmp_path, FakeClock())
    spool.close()
    path = tmp_path / "spool" / "spool.db"
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert path.stat().st_mode & 0o077 == 0


def test_when_full_the_oldest_metrics_reports_go_first_never_inventory(tmp_path: Path) -> None:
    clock = FakeClock()
    spool = spool_at(tmp_path, clock, max_bytes=5000)
    spool.put("inv-1", KB, has_inventory=True)
    for n in range(4):
        spool.put(f"m-{n}", KB, has_inventory=False)
    assert spool.status().dropped_reports == 0
    dropped = spool.put("m-4", KB, has_inventory=False)
    dropped += spool.put("inv-2", KB, has_inventory=True)
    assert dropped == 2
    status = spool.status()
    assert status.dropped_reports == 2
    assert status.size_bytes <= 5000
    assert ids(spool) == ["inv-1", "m-2", "m-3", "m-4", "inv-2"]


def test_inventory_is_kept_even_beyond_the_bound(tmp_path: Path) -> None:
    spool = spool_at(tmp_path, FakeClock(), max_bytes=2500)
    for n in range(3):
        assert spool.put(f"inv-{n}", KB, has_inventory=True) == 0
    # Only inventory left: a new metrics report is the one that goes, and it is counted.
    assert spool.put("m-0", KB, has_inventory=False) == 1
    assert spool.status().dropped_reports == 1
    assert ids(spool) == ["inv-0", "inv-1", "inv-2"]


def test_metrics_reports_older_than_max_age_are_dropped_and_counted(tmp_path: Path) -> None:
    clock = FakeClock()
    spool = spool_at(tmp_path, clock, max_age_seconds=3600)
    spool.put("old-metrics", KB, has_inventory=False)
    spool.put("old-inventory", KB, has_inventory=True)
    clock.advance(3601)
    spool.put("new", KB, has_inventory=False)
    assert spool.status().dropped_reports == 1
    assert ids(spool) == ["old-inventory", "new"]


def test_failed_attempts_are_counted_and_the_report_kept(tmp_path: Path) -> None:
    spool = spool_at(tmp_path, FakeClock())
    spool.put("r1", KB, has_inventory=False)
    report = spool.oldest()
    assert report is not None
    spool.failed(report, reason="connection refused")
    spool.failed(report, reason="HTTP 503")
    again = spool.oldest()
    assert again is not None
    assert again.attempts == 2
    status = spool.status()
    assert (status.depth, status.send_failures, status.last_error) == (1, 2, "HTTP 503")
    assert status.last_success_at is None


def test_dead_letters_keep_the_body_and_reason(tmp_path: Path) -> None:
    spool = spool_at(tmp_path, FakeClock())
    spool.put("bad", b"gz", has_inventory=True)
    report = spool.oldest()
    assert report is not None
    spool.dead_letter(report, 422, "metrics.0.unit")
    assert spool.oldest() is None
    assert spool.status().dead_letters == 1
    db = sqlite3.connect(spool.path)
    row = db.execute("SELECT report_id, status, reason, body FROM dead_letters").fetchone()
    assert row == ("bad", 422, "metrics.0.unit", b"gz")


def test_read_only_status_of_a_missing_spool_is_a_spool_error(tmp_path: Path) -> None:
    with pytest.raises(SpoolError, match="has not run yet"):
        Spool(tmp_path / "none.db", FakeClock(), read_only=True)


def test_unwritable_location_is_a_spool_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SpoolError, match="cannot open spool"):
        Spool(blocker / "spool.db", FakeClock())


def test_size_bookkeeping_does_not_read_report_bodies(tmp_path: Path) -> None:
    spool = spool_at(tmp_path, FakeClock())
    plan = sqlite3.connect(spool.path).execute(
        "EXPLAIN QUERY PLAN SELECT COALESCE(SUM(size), 0) FROM reports"
    ).fetchall()
    assert "COVERING INDEX" in " ".join(str(step) for step in plan)
