"""`/metrics` as Prometheus sees it: the series opsgraph exports, and a real
Prometheus (Debian package `prometheus`, started here) scraping a real server and
answering a query for them through its HTTP API."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.auth import issue_token
from api.settings import ServerSettings
from cmdb.connect import connect
from cmdb.store import GraphStore
from rules.book import RuleBook
from rules.loader import parse_rules
from tests.conftest import Clock, require_service
from tests.integration.api.conftest import ALERT_RULES, ROUTED, OpsApi
from tests.integration.api.served import free_port, served
from tests.integration.apiclient import sample_report


def test_metrics_cover_intake_store_rules_and_the_estate(api: OpsApi) -> None:
    api.report()
    api.client.post("/v1/events", json={"dedup_key": "k", "event_action": "trigger",
                                        "source": "h1"}, headers=api.auth("integration"))

    text = api.client.get("/metrics").text

    for series in (
        'opsgraph_intake_requests_total{code="2xx",route="/v1/reports"} 1.0',
        'opsgraph_intake_seconds_count{route="/v1/events"} 1.0',
        'opsgraph_rule_evaluation_seconds_count{source="event"} 1.0',
        'opsgraph_cis{ci_class="Computer",status="active"} 1.0',
        'opsgraph_cis{ci_class="Server",status="active"} 1.0',
        "opsgraph_outbox_entries 2.0",  # "opened" for the disk and the event incident
        "opsgraph_outbox_depth 2.0",  # no dispatcher ran
        "opsgraph_estate_up 1.0",
    ):
        assert series in text, series
    assert 'opsgraph_store_seconds_count{operation="write"}' in text
    assert sum(1 for line in text.splitlines() if line.startswith("opsgraph_open_incidents{")
               ) == 5


def prometheus_config(tmp_path: Path, target: str) -> Path:
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: opsgraph
    static_configs:
      - targets: ["{target}"]
""")
    return config


@pytest.fixture
def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        require_service("Prometheus", "apt-get install prometheus (scripts/system-deps.sh)",
                        "no prometheus binary on PATH")
    assert found is not None
    return found


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[GraphStore]:
    store = connect(f"sqlite:///{tmp_path / 'opsgraph.db'}")
    yield store
    store.close()


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5)
    answer.raise_for_status()
    result: list[dict[str, Any]] = answer.json()["data"]["result"]
    return result


def test_a_real_prometheus_scrapes_the_server(prometheus_binary: str, tmp_path: Path,
                                              sqlite_store: GraphStore) -> None:
    clock = Clock()
    settings = ServerSettings(store_url=sqlite_store.url, estate_metrics_seconds=0)
    app = create_app(settings, store=sqlite_store, rules=RuleBook(None, parse_rules(ALERT_RULES)),
                     clock=clock, policy=ROUTED, ticking=False)
    agent = issue_token(sqlite_store, "agent", "agent", clock(), "pc-0042")
    with served(app) as url:
        posted = httpx.post(f"{url}/v1/reports", json=sample_report(),
                            headers={"Authorization": f"Bearer {agent}"}, timeout=10)
        assert posted.status_code == 202, posted.text
        port = free_port()
        prometheus = subprocess.Popen(
            [prometheus_binary, f"--config.file={prometheus_config(tmp_path, url[7:])}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            base, found = f"http://127.0.0.1:{port}", list[dict[str, Any]]()
            deadline = time.monotonic() + 30
            while not found and time.monotonic() < deadline:
                time.sleep(0.5)
                assert prometheus.poll() is None, prometheus.stderr.read() if (
                    prometheus.stderr) else "prometheus exited"
                try:
                    found = query(base, 'opsgraph_cis{ci_class="Computer",status="active"}')
                except httpx.HTTPError:
                    continue  # not listening yet
            assert found, "Prometheus never scraped opsgraph_cis within 30 s"
            assert found[0]["value"][1] == "1"
            assert found[0]["metric"]["job"] == "opsgraph"
            [reports] = query(base, 'opsgraph_intake_requests_total{route="/v1/reports"}')
            assert reports["value"][1] == "1"
            [up] = query(base, 'up{job="opsgraph"}')
            assert up["value"][1] == "1"
        finally:
            prometheus.terminate()
            prometheus.wait(timeout=15)
