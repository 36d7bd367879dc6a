"""Fixtures shared by every suite: an injectable clock and the stores under test.

`store` runs each test once per store: SQLite always, and a real Neo4j at
`OPSGRAPH_TEST_NEO4J_URL` (default bolt://127.0.0.1:17687, started by
`scripts/neo4j.sh start`). In CI (`CI=true`) a Neo4j that does not answer fails the
test; on a laptop it skips with the command that starts it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cmdb.connect import connect
from cmdb.errors import StoreUnavailable
from cmdb.store import GraphStore

NEO4J_URL = os.environ.get("OPSGRAPH_TEST_NEO4J_URL", "bolt://127.0.0.1:17687")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, how: str, error: BaseException | str) -> None:
    """Fail in CI, skip elsewhere: a missing real service is never silently passed."""
    message = f"{name} is not available ({error}); start it with: {how}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _wipe_neo4j(store: GraphStore) -> None:
    store.write(lambda tx: tx.run("MATCH (n) DETACH DELETE n", {}))


@pytest.fixture(scope="session")
def neo4j_url() -> str:
    return NEO4J_URL


def open_neo4j() -> GraphStore:
    try:
        store = connect(NEO4J_URL)
        store.ping()
    except (StoreUnavailable, OSError, ValueError) as exc:
        require_service("Neo4j", "scripts/neo4j.sh start", exc)
        raise
    _wipe_neo4j(store)
    global _neo4j_version
    if _neo4j_version is None:
        _neo4j_version = _server_version(store)
    return store


def _server_version(store: GraphStore) -> str:
    rows = store.write(lambda tx: tx.run(
        "CALL dbms.components() YIELD name, versions, edition "
        "RETURN name + ' ' + versions[0] + ' ' + edition AS version", {}))
    return str(rows[0]["version"])


StoreFactory = Callable[[], GraphStore]


@pytest.fixture(params=["sqlite", "neo4j"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens (and reopens) the same store; every store opened is closed afterwards."""
    opened: list[GraphStore] = []
    if request.param == "neo4j":
        first = open_neo4j()
        opened.append(first)

        def factory() -> GraphStore:
            store = connect(NEO4J_URL)
            opened.append(store)
            return store

        pending = [first]

        def first_then_new() -> GraphStore:
            return pending.pop() if pending else factory()

        yield first_then_new
    else:
        url = f"sqlite:///{tmp_path / 'opsgraph.db'}"

        def sqlite_factory() -> GraphStore:
            store = connect(url)
            opened.append(store)
            return store

        yield sqlite_factory
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> GraphStore:
    return store_factory()


_store_outcomes: dict[str, dict[str, int]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count outcomes per store, so the run shows that both stores were exercised."""
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    for store_name in ("sqlite", "neo4j"):
        if f"[{store_name}" in report.nodeid or f"-{store_name}]" in report.nodeid:
            counts = _store_outcomes.setdefault(store_name, {})
            counts[report.outcome] = counts.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _store_outcomes:
        return
    terminalreporter.section("stores under test")
    for store_name, counts in sorted(_store_outcomes.items()):
        where = f" at {NEO4J_URL} ({_neo4j_version or 'version unknown'})" if (
            store_name == "neo4j") else ""
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        terminalreporter.write_line(f"{store_name}{where}: {summary}")


_neo4j_version: str | None = None
