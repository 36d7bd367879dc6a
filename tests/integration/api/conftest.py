"""An opsgraph app for the operator-API suites: routed to one receiver, no hold-down
(so incidents notify at once), no background ticking, one token per role."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import issue_token
from api.settings import ServerSettings
from cmdb.store import GraphStore
from rules.book import RuleBook
from rules.context import Policy, Route
from rules.loader import parse_rules
from tests.conftest import Clock
from tests.integration.apiclient import DISK_RULE, Api, sample_report

ALERT_RULES = DISK_RULE + """
  - name: alert
    kind: state
    metric: alertmanager.alert
    states: [firing]
    severity: major
    summary: "{ci}: {label.alertname}"
    failure_mode: [alertname]
  - name: event
    kind: state
    metric: event
    states: [firing]
    severity: minor
    summary: "{ci}: event {label.dedup_key}"
    failure_mode: [dedup_key]
"""
ROUTED = Policy(hold_down=timedelta(0),
                route=lambda incident, ci: Route(("service-desk",), "Service Desk"))


class OpsApi(Api):
    """`Api` with the shortcuts the operator suites share."""

    store: GraphStore
    clock: Clock

    def report(self, value: float = 97.5, **changes: Any) -> dict[str, Any]:
        """Post an agent report collected now, its disk `value`% full."""
        report = sample_report(report_id=f"r-{self.clock().timestamp():.0f}-{value}",
                               collected_at=self.clock().isoformat(), **changes)
        report["metrics"][2]["value"] = value
        answer = self.client.post("/v1/reports", json=report, headers=self.auth("agent"))
        assert answer.status_code == 202, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def incidents(self) -> list[dict[str, Any]]:
        answer = self.client.get("/v1/incidents", headers=self.auth("operator"))
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def incident(self, incident_id: str) -> tuple[dict[str, Any], str]:
        answer = self.client.get(f"/v1/incidents/{incident_id}", headers=self.auth("operator"))
        assert answer.status_code == 200, answer.text
        return answer.json(), answer.headers["etag"]

    def act(self, incident_id: str, action: str, etag: str | None, role: str = "operator",
            **body: Any) -> Any:
        headers = self.auth(role) | ({"If-Match": etag} if etag is not None else {})
        return self.client.post(f"/v1/incidents/{incident_id}/{action}", headers=headers,
                                json=body or None)


def start_api(store: GraphStore, clock: Clock, rules: str | Path = ALERT_RULES,
              policy: Policy = ROUTED, **settings: Any) -> Iterator[OpsApi]:
    """The app on `store`; `rules` is YAML text, or a file (then it can be reloaded)."""
    config = ServerSettings(store_url=store.url, **settings)
    book = RuleBook.from_file(rules) if isinstance(rules, Path) else RuleBook(
        None, parse_rules(rules))
    app = create_app(config, store=store, rules=book, clock=clock, policy=policy,
                     ticking=False)
    tokens = {role: issue_token(store, role, f"test {role}", clock(),
                                "pc-0042" if role == "agent" else None)
              for role in ("agent", "integration", "operator", "admin")}
    with TestClient(app, raise_server_exceptions=False) as client:
        api = OpsApi(client, tokens)
        api.store, api.clock = store, clock
        yield api


@pytest.fixture
def api(store: GraphStore, clock: Clock) -> Iterator[OpsApi]:
    yield from start_api(store, clock)


