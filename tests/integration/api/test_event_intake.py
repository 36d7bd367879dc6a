"""Alertmanager webhooks and generic events over HTTP, on each store: bound to the
right CI, evaluated by the same rules, deduplicated, and closed to other roles."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.conftest import Clock
from tests.integration.api.conftest import OpsApi
from tests.integration.apiclient import DATA


def payload(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((DATA / "alertmanager" / f"{name}.json").read_text())
    return body


def post(api: OpsApi, path: str, body: dict[str, Any], role: str = "integration") -> Any:
    return api.client.post(path, json=body, headers=api.auth(role))


def alert_incidents(api: OpsApi) -> list[dict[str, Any]]:
    return [i for i in api.incidents() if i["rule"] != "filesystem-full"]


def test_alertmanager_fires_then_resolves_on_the_agents_ci(api: OpsApi, clock: Clock) -> None:
    ci_id = api.report(50.0)["ci_id"]

    fired = post(api, "/v1/alertmanager", payload("firing"))
    assert fired.status_code == 202, fired.text
    assert fired.json() == {"accepted": 1, "duplicates": 0, "unbound": [],
                            "ci_ids": {"5c0d8a1e2f3b4c6d": ci_id}}
    [incident] = alert_incidents(api)
    assert (incident["ci_id"], incident["state"], incident["labels"]) == (
        ci_id, "new", {"alertname": "NodeFilesystemAlmostOutOfSpace"})
    assert incident["summary"] == "pc-0042.corp.example: NodeFilesystemAlmostOutOfSpace"
    before, _ = api.incident(incident["id"])

    clock.advance(minutes=1)
    again = post(api, "/v1/alertmanager", payload("firing"))
    assert again.json()["duplicates"] == 1
    assert again.json()["accepted"] == 0
    after, _ = api.incident(incident["id"])
    assert after == before  # a resent payload changes nothing

    clock.advance(minutes=10)
    resolved = post(api, "/v1/alertmanager", payload("resolved"))
    assert resolved.json()["accepted"] == 1
    [incident] = alert_incidents(api)
    assert incident["state"] == "resolved"
    assert post(api, "/v1/alertmanager", payload("resolved")).json()["duplicates"] == 1
    assert [c["name"] for c in api.client.get(
        "/v1/cis", headers=api.auth("operator")).json()["items"]] == ["pc-0042.corp.example"]


def test_alerts_bind_by_host_labels_or_are_reported_unbound(api: OpsApi) -> None:
    body = payload("firing")
    on_ip, nameless = copy.deepcopy(body["alerts"][0]), copy.deepcopy(body["alerts"][0])
    body["alerts"][0]["labels"]["instance"] = "[2001:db8::7]:9100"
    body["alerts"][0]["labels"]["hostname"] = "db-01.corp.example"
    body["alerts"][0]["fingerprint"] = "aaaa"
    on_ip["labels"]["instance"] = "192.0.2.77:9100"
    on_ip["labels"]["ci_class"] = "NetworkDevice"
    on_ip["fingerprint"] = "bbbb"
    del nameless["labels"]["instance"]
    nameless["fingerprint"] = "cccc"
    body["alerts"] += [on_ip, nameless]

    answer = post(api, "/v1/alertmanager", body)

    assert answer.status_code == 202, answer.text
    assert answer.json()["unbound"] == ["cccc"]
    cis = {c["id"]: c for c in api.client.get(
        "/v1/cis", headers=api.auth("operator")).json()["items"]}
    named = {cis[ci_id]["name"]: cis[ci_id]["ci_class"]
             for ci_id in answer.json()["ci_ids"].values()}
    # A host name wins over an address; an address alone names a CI by itself.
    assert named == {"db-01.corp.example": "Server", "192.0.2.77": "NetworkDevice"}


def test_generic_events_trigger_and_resolve_by_dedup_key(api: OpsApi, clock: Clock) -> None:
    event = {"dedup_key": "raid-degraded", "event_action": "trigger",
             "source": "fs-01.corp.example", "summary": "RAID 1 degraded",
             "severity": "critical", "labels": {"team": "storage"}}
    assert post(api, "/v1/events", event).status_code == 202
    clock.advance(minutes=1)
    assert post(api, "/v1/events", event).json()["accepted"] == 1  # no timestamp: a repeat
    [incident] = alert_incidents(api)
    assert (incident["summary"], incident["occurrences"]) == (
        "fs-01.corp.example: event raid-degraded", 2)

    stamped = {**event, "event_action": "resolve", "timestamp": "2026-11-23T12:05:00Z"}
    assert post(api, "/v1/events", stamped).json()["accepted"] == 1
    assert post(api, "/v1/events", stamped).json()["duplicates"] == 1
    [incident] = alert_incidents(api)
    assert incident["state"] == "resolved"


def test_intake_is_for_integrations_and_validates(api: OpsApi) -> None:
    for role in ("agent", "operator"):
        denied = post(api, "/v1/alertmanager", payload("firing"), role=role)
        assert denied.status_code == 403
        assert denied.headers["content-type"] == "application/problem+json"
    assert api.client.post("/v1/events", json={}).status_code == 401
    assert post(api, "/v1/alertmanager", payload("firing"), role="admin").status_code == 202

    bad = post(api, "/v1/events", {"dedup_key": "x", "event_action": "explode",
                                   "source": "h"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == "event_action"
    old = {**payload("firing"), "version": "3"}
    assert post(api, "/v1/alertmanager", old).status_code == 422
    metrics = api.client.get("/metrics").text
    assert 'opsgraph_events_total{outcome="accepted",source="alertmanager"} 1.0' in metrics
    assert 'opsgraph_intake_requests_total{code="4xx",route="/v1/alertmanager"}' in metrics
