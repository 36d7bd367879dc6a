"""Two-way sync over HTTP, on each store: ServiceNow, Jira, PagerDuty and a generic
webhook report changes to their tickets through `POST /v1/sync/{receiver}`; the
incident changes with actor `receiver:<name>` and the change is told to the other
receivers only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ServerSettings
from cmdb.records import Incident
from cmdb.store import GraphStore
from rules.book import RuleBook
from rules.loader import parse_rules
from rules.notify.config import parse_receivers
from rules.notify.model import TicketRef
from rules.notify.state import open_delivery_store
from rules.notify.webhook import sign, signing_key
from tests.conftest import Clock
from tests.integration.apiclient import DISK_RULE

RECEIVERS = """
receivers:
  servicenow-prod:
    type: servicenow
    instance_url: https://snow.example.com
    username: opsgraph
    password_env: SNOW_PASSWORD
    inbound_secret_env: SNOW_INBOUND
  jira-ops:
    type: jira
    base_url: https://example.atlassian.net
    username: bot@example.com
    token_env: JIRA_TOKEN
    project_key: OPS
    issue_type: Incident
    inbound_secret_env: JIRA_INBOUND
  pagerduty-oncall:
    type: pagerduty
    routing_key_env: PD_KEY
    inbound_secret_env: PD_INBOUND
  chatops:
    type: webhook
    url: https://hooks.example.com/opsgraph
    inbound_secret_env: HOOK_INBOUND
"""
ENV = {"SNOW_PASSWORD": "pw", "SNOW_INBOUND": "snow-inbound-secret", "JIRA_TOKEN": "t",
       "JIRA_INBOUND": "jira-inbound-secret", "PD_KEY": "R" * 32,
       "PD_INBOUND": "pd-inbound-secret",
       "HOOK_INBOUND": "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHMtMTIzNDU2Nzg="}
NAMES = ("servicenow-prod", "jira-ops", "pagerduty-oncall", "chatops")
SYS_ID = "9d385017c611228701d22104cc95c371"
FINGERPRINT = "filesystem-full|ci-pc-0042|/var"
PROBLEM = "application/problem+json"


@pytest.fixture
def client(store: GraphStore, clock: Clock) -> Iterator[TestClient]:
    receivers = parse_receivers(RECEIVERS, "receivers.yaml", ENV)
    app = create_app(ServerSettings(store_url=store.url, dispatch=False), store=store,
                     rules=RuleBook(None, parse_rules(DISK_RULE)), clock=clock,
                     ticking=False, receivers=receivers)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def incident(store: GraphStore, clock: Clock) -> Incident:
    """An open incident told to every receiver, with the tickets they made."""
    opened = clock() - timedelta(minutes=5)
    item = Incident("inc-1", FINGERPRINT, "filesystem-full", "ci-pc-0042", "new", "major",
                    "pc-0042: /var is 93% full", opened, opened, 1, notified=True,
                    last_notified_at=opened, receivers=NAMES)
    store.write(lambda tx: tx.insert_incident(item))
    deliveries = open_delivery_store(store.url)
    deliveries.save_ticket_ref(TicketRef("inc-1", "servicenow-prod", SYS_ID, "INC0010001"))
    deliveries.save_ticket_ref(TicketRef("inc-1", "jira-ops", "10042", "OPS-42"))
    deliveries.close()
    return item


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def servicenow(state: str, **extra: Any) -> dict[str, Any]:
    return {"sys_id": SYS_ID, "number": "INC0010001", "state": state,
            "correlation_id": "inc-1", **extra}


def told(store: GraphStore, event: str) -> list[str]:
    return sorted(e.receiver for e in store.outbox_for("inc-1") if e.event == event)


def test_servicenow_resolve_resolves_ours_and_tells_only_the_others(
        client: TestClient, store: GraphStore, incident: Incident) -> None:
    answer = client.post("/v1/sync/servicenow-prod", headers=bearer("snow-inbound-secret"),
                         json=servicenow("6", close_notes="disk cleaned"))

    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "resolved"
    assert answer.json()["applied"] == ["resolve"]
    resolved = next(e for e in store.incident_events("inc-1") if e.kind == "resolved")
    assert resolved.actor == "receiver:servicenow-prod"
    assert told(store, "resolved") == ["chatops", "jira-ops", "pagerduty-oncall"]


def test_servicenow_repeat_is_a_no_op(client: TestClient, store: GraphStore,
                                      incident: Incident) -> None:
    first = client.post("/v1/sync/servicenow-prod", headers=bearer("snow-inbound-secret"),
                        json=servicenow("6", comments="fixed"))
    again = client.post("/v1/sync/servicenow-prod", headers=bearer("snow-inbound-secret"),
                        json=servicenow("6", comments="fixed"))

    assert first.json()["applied"] == ["resolve", "comment"]
    assert again.status_code == 200
    assert again.json()["applied"] == []
    assert again.json()["version"] == first.json()["version"]
    assert len(told(store, "resolved")) == 3
    assert [e.kind for e in store.incident_events("inc-1")].count("commented") == 1


def test_servicenow_closed_resolves_then_closes(client: TestClient,
                                                incident: Incident) -> None:
    answer = client.post("/v1/sync/servicenow-prod", headers=bearer("snow-inbound-secret"),
                         json=servicenow("7"))
    assert answer.json()["state"] == "closed"
    assert answer.json()["applied"] == ["resolve", "close"]


def test_jira_done_resolves(client: TestClient, store: GraphStore,
                            incident: Incident) -> None:
    body = {"webhookEvent": "jira:issue_updated", "issue": {"id": "10042", "key": "OPS-42",
            "fields": {"labels": ["opsgraph", "opsgraph-inc-1"],
                       "status": {"name": "Done", "statusCategory": {"key": "done"}}}}}
    answer = client.post("/v1/sync/jira-ops", headers=bearer("jira-inbound-secret"),
                         json=body)

    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "resolved"
    assert "jira-ops" not in told(store, "resolved")
    assert "servicenow-prod" in told(store, "resolved")


def test_jira_issue_of_another_key_is_unknown(client: TestClient,
                                              incident: Incident) -> None:
    body = {"webhookEvent": "jira:issue_updated", "issue": {"key": "OPS-99", "fields": {
        "labels": ["opsgraph-inc-1"], "status": {"statusCategory": {"key": "done"}}}}}
    answer = client.post("/v1/sync/jira-ops", headers=bearer("jira-inbound-secret"),
                         json=body)
    assert answer.status_code == 404


def test_pagerduty_acknowledged_acknowledges(client: TestClient, store: GraphStore,
                                             incident: Incident) -> None:
    body = {"event": {"id": "01DEN", "event_type": "incident.acknowledged",
                      "resource_type": "incident", "data": {
                          "id": "PGR0VU2", "type": "incident", "status": "acknowledged",
                          "incident_key": FINGERPRINT}}}
    answer = client.post("/v1/sync/pagerduty-oncall", headers=bearer("pd-inbound-secret"),
                         json=body)

    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "acknowledged"
    assert told(store, "acknowledged") == ["chatops", "jira-ops", "servicenow-prod"]


def test_generic_webhook_signed_with_standard_webhooks(client: TestClient,
                                                       incident: Incident) -> None:
    body = b'{"incident_id": "inc-1", "action": "comment", "comment": "on it"}'
    stamp = int(time.time())
    key = signing_key(ENV["HOOK_INBOUND"])
    assert key is not None
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(stamp),
               "webhook-signature": sign(key, "msg_1", stamp, body),
               "content-type": "application/json"}
    answer = client.post("/v1/sync/chatops", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] == ["comment"]

    tampered = client.post("/v1/sync/chatops", content=body.replace(b"on it", b"done"),
                           headers=headers)
    assert tampered.status_code == 401


def test_wrong_secret_is_401_and_changes_nothing(client: TestClient, store: GraphStore,
                                                 incident: Incident) -> None:
    for headers in (bearer("jira-inbound-secret"), bearer("nope"), {}):
        answer = client.post("/v1/sync/servicenow-prod", headers=headers,
                             json=servicenow("6"))
        assert answer.status_code == 401
        assert answer.headers["content-type"] == PROBLEM
    assert store.get_incident("inc-1").state == "new"  # type: ignore[union-attr]


def test_unknown_ticket_is_404(client: TestClient, incident: Incident) -> None:
    unknown = servicenow("6", correlation_id="inc-404")
    answer = client.post("/v1/sync/servicenow-prod", headers=bearer("snow-inbound-secret"),
                         json=unknown)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == PROBLEM
    other = client.post("/v1/sync/servicenow-prod", headers=bearer("snow-inbound-secret"),
                        json=servicenow("6", sys_id="0" * 32))
    assert other.status_code == 404


def test_malformed_body_is_422_naming_the_field(client: TestClient,
                                                incident: Incident) -> None:
    answer = client.post("/v1/sync/servicenow-prod", headers=bearer("snow-inbound-secret"),
                         json={"sys_id": SYS_ID, "state": "6"})
    assert answer.status_code == 422
    assert answer.json()["field"] == "correlation_id"
    bad = client.post("/v1/sync/pagerduty-oncall", headers=bearer("pd-inbound-secret"),
                      json={"event": {"event_type": "incident.resolved", "data": {}}})
    assert bad.json()["field"] == "event.data.incident_key"
