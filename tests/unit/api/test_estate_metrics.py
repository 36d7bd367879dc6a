"""Estate gauges: every bounded label combination exported, the store asked at most
once per interval, a failing store reported as down with the last figures kept."""

from __future__ import annotations

from typing import cast

from prometheus_client import CollectorRegistry, generate_latest

from api.estate_metrics import EstateCollector
from cmdb.errors import StoreUnavailable
from cmdb.store import EstateCounts, GraphStore


class CountingStore:
    def __init__(self) -> None:
        self.calls = 0
        self.down = False

    def estate_counts(self) -> EstateCounts:
        self.calls += 1
        if self.down:
            raise StoreUnavailable("gone")
        return EstateCounts({("Server", "active"): 3, ("Printer", "stale"): 1}, {2: 4}, 9)


def test_store_is_queried_once_per_interval_and_series_are_bounded() -> None:
    store, now = CountingStore(), [100.0]
    collector = EstateCollector(lambda: cast(GraphStore, store), 15, None, lambda: now[0])
    registry = CollectorRegistry()
    registry.register(collector)
    assert store.calls == 0  # registering describes, it does not query

    text = generate_latest(registry).decode()
    generate_latest(registry)
    assert store.calls == 1
    assert 'opsgraph_cis{ci_class="Server",status="active"} 3.0' in text
    assert 'opsgraph_cis{ci_class="Printer",status="stale"} 1.0' in text
    assert 'opsgraph_cis{ci_class="Group",status="retired"} 0.0' in text
    assert text.count("opsgraph_cis{") == 30  # 10 classes x 3 statuses, always
    assert 'opsgraph_open_incidents{priority="2"} 4.0' in text
    assert 'opsgraph_open_incidents{priority="5"} 0.0' in text
    assert "opsgraph_outbox_entries 9.0" in text
    assert "opsgraph_estate_up 1.0" in text

    now[0] += 15
    store.down = True
    text = generate_latest(registry).decode()
    assert store.calls == 2
    assert "opsgraph_estate_up 0.0" in text
    assert 'opsgraph_cis{ci_class="Server",status="active"} 3.0' in text
