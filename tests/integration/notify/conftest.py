"""Fixtures of the notify integration tests: an SQLite CMDB store of their own (for
tests about a vendor, not a store) and the delivery state beside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cmdb.connect import connect
from cmdb.store import GraphStore
from rules.notify.state import DeliveryStore, open_delivery_store


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[GraphStore]:
    graph = connect(f"sqlite:///{tmp_path / 'opsgraph.db'}")
    yield graph
    graph.close()


@pytest.fixture
def sqlite_delivery(sqlite_store: GraphStore) -> Iterator[DeliveryStore]:
    state = open_delivery_store(sqlite_store.url)
    yield state
    state.close()
