"""Agent reports through the HTTP API onto each store: auth, validation, idempotency,
and the CI and incident they produce."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest

from cmdb.store import GraphStore
from tests.conftest import Clock
from tests.integration.apiclient import Api, running_api, sample_report

PROBLEM = "application/problem+json"


@pytest.fixture
def api(store: GraphStore, clock: Clock) -> Iterator[Api]:
    with running_api(store, clock) as running:
        yield running


def test_report_makes_a_ci_and_opens_an_incident(api: Api) -> None:
    answer = api.client.post("/v1/reports", json=sample_report(), headers=api.auth("agent"))

    assert answer.status_code == 202, answer.text
    assert answer.json()["duplicate"] is False
    ci_id = answer.json()["ci_id"]
    cis = api.client.get("/v1/cis", headers=api.auth("operator")).json()["items"]
    assert [c["id"] for c in cis] == [ci_id]
    ci = cis[0]
    assert ci["name"] == "pc-0042.corp.example"
    assert ci["attributes"]["os_name"] == "Debian GNU/Linux"
    assert ci["attributes"]["cpu_threads"] == 8
    assert ci["attributes"]["memory_bytes"] == 16663322624
    assert ci["attributes"]["ipv4"] == ["192.0.2.10"]  # docker0 is not the host's address
    assert "mac:54:e1:ad:12:34:56" in ci["identity_keys"]
    assert "serial:PF1ABCDE" in ci["identity_keys"]
    incidents = api.client.get("/v1/incidents", headers=api.auth("operator")).json()["items"]
    assert [(i["rule"], i["ci_id"], i["labels"]["mountpoint"]) for i in incidents] == [
        ("filesystem-full", ci_id, "/")]
    assert incidents[0]["summary"] == "pc-0042.corp.example: filesystem / is 97.5% full"


def test_a_retried_report_is_counted_once(api: Api) -> None:
    first = api.client.post("/v1/reports", json=sample_report(), headers=api.auth("agent"))
    again = api.client.post("/v1/reports", json=sample_report(), headers=api.auth("agent"))

    assert again.status_code == 202
    assert again.json() == {**first.json(), "duplicate": True}
    [incident] = api.client.get("/v1/incidents", headers=api.auth("operator")).json()["items"]
    assert incident["occurrences"] == 1
    metrics = api.client.get("/metrics").text
    assert 'opsgraph_reports_total{outcome="duplicate"} 1.0' in metrics


def test_repeats_count_and_clearing_resolves(api: Api, clock: Clock) -> None:
    api.client.post("/v1/reports", json=sample_report(), headers=api.auth("agent"))
    clock.advance(minutes=1)
    api.client.post("/v1/reports", json=sample_report(report_id="r-000000002"),
                    headers=api.auth("agent"))
    healthy = sample_report(report_id="r-000000003")
    healthy["metrics"][2]["value"] = 70.0
    api.client.post("/v1/reports", json=healthy, headers=api.auth("agent"))

    [incident] = api.client.get("/v1/incidents", headers=api.auth("operator")).json()["items"]
    assert incident["occurrences"] == 2
    assert incident["state"] == "resolved"


def test_gzip_bodies_are_accepted(api: Api) -> None:
    body = gzip.compress(json.dumps(sample_report()).encode())
    answer = api.client.post(
        "/v1/reports", content=body,
        headers={**api.auth("agent"), "Content-Encoding": "gzip",
                 "Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text


def test_no_token_is_401_and_unknown_token_is_401(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer og_not-a-token"}, {"Authorization": "Basic x"}):
        answer = api.client.post("/v1/reports", json=sample_report(), headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == PROBLEM
        assert answer.headers["www-authenticate"] == "Bearer"


def test_agent_token_reports_only_for_its_own_agent(api: Api) -> None:
    answer = api.client.post("/v1/reports", json=sample_report(agent_id="pc-0099"),
                             headers=api.auth("agent"))
    assert answer.status_code == 403
    assert "pc-0042" in answer.json()["detail"]


def test_roles_are_enforced(api: Api) -> None:
    assert api.client.get("/v1/cis", headers=api.auth("agent")).status_code == 403
    assert api.client.get("/v1/cis", headers=api.auth("integration")).status_code == 403
    assert api.client.post("/v1/reports", json=sample_report(),
                           headers=api.auth("operator")).status_code == 403
    assert api.client.get("/v1/cis", headers=api.auth("admin")).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"collected_at": "yesterday"}, "collected_at"),
        ({"collected_at": "2026-11-23T12:00:00"}, "collected_at"),  # no time zone
        ({"report_id": ""}, "report_id"),
        ({"agent_id": None}, "agent_id"),
        ({"metrics": [{"name": "Host CPU", "value": 1, "unit": "percent"}]}, "metrics.0.name"),
        ({"metrics": [{"name": "host.cpu", "value": "high", "unit": "percent"}]},
         "metrics.0.value"),
        ({"metrics": [{"name": "host.cpu", "value": 1, "unit": "furlongs"}]}, "metrics.0.unit"),
        ({"inventory": {"memory_bytes": -1, "hostname": "x"}}, "inventory.memory_bytes"),
    ],
)
def test_malformed_reports_name_the_field(api: Api, change: dict[str, object], field: str
                                          ) -> None:
    answer = api.client.post("/v1/reports", json=sample_report(**change),
                             headers=api.auth("agent"))

    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["status"] == 422
    assert problem["detail"].startswith(f"{field}:")
    assert field in [e["loc"] for e in problem["errors"]]
    assert api.client.get("/v1/cis", headers=api.auth("operator")).json()["items"] == []


def test_non_json_and_bad_gzip_are_400(api: Api) -> None:
    answer = api.client.post("/v1/reports", content=b"{not json",
                             headers={**api.auth("agent"), "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "not valid JSON" in answer.json()["detail"]
    answer = api.client.post("/v1/reports", content=b"not gzip",
                             headers={**api.auth("agent"), "Content-Encoding": "gzip"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == PROBLEM


def test_oversized_bodies_are_413(store: GraphStore, clock: Clock) -> None:
    with running_api(store, clock, max_body_bytes=4096) as api:
        big = sample_report(metrics=[
            {"name": f"host.m{i}", "value": i, "unit": "count"} for i in range(200)])
        assert api.client.post("/v1/reports", json=big,
                               headers=api.auth("agent")).status_code == 413
        bomb = gzip.compress(json.dumps(big).encode())
        assert len(bomb) < 4096
        answer = api.client.post("/v1/reports", content=bomb,
                                 headers={**api.auth("agent"), "Content-Encoding": "gzip"})
        assert answer.status_code == 413


def test_unknown_ci_is_404_problem(api: Api) -> None:
    answer = api.client.get("/v1/cis/nope", headers=api.auth("operator"))
    assert answer.status_code == 404
    assert answer.headers["content-type"] == PROBLEM


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").json() == {"status": "ready"}
    assert "opsgraph_build_info" in api.client.get("/metrics").text


def test_queued_notifications_wake_the_dispatcher(store: GraphStore, clock: Clock) -> None:
    from datetime import timedelta

    from rules.context import Policy, Route

    policy = Policy(hold_down=timedelta(0),
                    route=lambda incident, ci: Route(("service-desk",), "Service Desk"))
    with running_api(store, clock, policy=policy) as api:
        woken: list[int] = []
        api.client.app.state.outbox_written = lambda: woken.append(1)  # type: ignore[attr-defined]
        quiet = sample_report(report_id="r-quiet-0001")
        quiet["metrics"][2]["value"] = 10.0
        api.client.post("/v1/reports", json=quiet, headers=api.auth("agent"))
        assert woken == []  # nothing queued, nobody woken
        api.client.post("/v1/reports", json=sample_report(), headers=api.auth("agent"))
        assert woken == [1]
        assert [e.event for e in store.outbox()] == ["opened"]
