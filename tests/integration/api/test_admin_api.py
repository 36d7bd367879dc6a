"""Rules, tokens and the audit trail over HTTP, on each store: validate and reload
(a bad file keeps the old rules), tokens shown once and revocable, every change
audited with who and when."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.auth import Operator
from cmdb.store import GraphStore
from tests.conftest import Clock
from tests.integration.api.conftest import ALERT_RULES, OpsApi, start_api

BROKEN = """
rules:
  - name: cpu-hot
    metric: host.cpu.utilization
    when: "> 90"
    severity: catastrophic
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(ALERT_RULES)
    return path


@pytest.fixture
def admin_api(store: GraphStore, clock: Clock, rules_file: Path) -> Iterator[OpsApi]:
    yield from start_api(store, clock, rules=rules_file)


def names(api: OpsApi) -> list[str]:
    answer = api.client.get("/v1/rules", headers=api.auth("operator"))
    assert answer.status_code == 200, answer.text
    return [r["name"] for r in answer.json()["items"]]


def audit(api: OpsApi, **query: str) -> list[dict[str, Any]]:
    answer = api.client.get("/v1/audit", params=query, headers=api.auth("admin"))
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_rules_are_listed_and_validated_with_the_precise_error(admin_api: OpsApi) -> None:
    api = admin_api
    assert names(api) == ["filesystem-full", "alert", "event"]
    [disk] = api.client.get("/v1/rules?limit=1", headers=api.auth("operator")).json()["items"]
    assert (disk["when"], disk["clear"], disk["failure_mode"]) == ("> 90", "< 85",
                                                                   ["mountpoint"])

    good = api.client.post("/v1/rules/validate", content=ALERT_RULES,
                           headers=api.auth("admin") | {"Content-Type": "application/yaml"})
    assert good.json() == {"valid": True, "rules": 3, "names": names(api)}
    bad = api.client.post("/v1/rules/validate", content=BROKEN,
                          headers=api.auth("admin") | {"Content-Type": "application/yaml"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert (bad.json()["line"], bad.json()["rule"], bad.json()["field"]) == (
        6, "cpu-hot", "severity")
    assert api.client.post("/v1/rules/validate", content=ALERT_RULES,
                           headers=api.auth("operator")).status_code == 403


def test_reload_swaps_good_files_and_keeps_the_old_rules_on_bad_ones(
        admin_api: OpsApi, rules_file: Path) -> None:
    api = admin_api
    rules_file.write_text(ALERT_RULES.split("  - name: alert")[0])
    assert api.client.post("/v1/rules/reload", headers=api.auth("operator")).status_code == 403

    reloaded = api.client.post("/v1/rules/reload", headers=api.auth("admin"))
    assert reloaded.status_code == 200, reloaded.text
    assert (reloaded.json()["rules"], reloaded.json()["previous"]) == (1, 3)
    assert names(api) == ["filesystem-full"]

    rules_file.write_text(BROKEN)
    refused = api.client.post("/v1/rules/reload", headers=api.auth("admin"))
    assert refused.status_code == 422
    assert refused.json()["field"] == "severity"
    assert names(api) == ["filesystem-full"]  # the old rules keep running
    [entry] = audit(api, action="rules.reload")
    assert (entry["actor"], entry["target"], entry["detail"]) == (
        "test admin", str(rules_file), {"rules": 1, "previous": 3})


def test_tokens_are_shown_once_listed_without_secrets_and_revocable(api: OpsApi) -> None:
    created = api.client.post("/v1/tokens", json={"role": "operator", "name": "night desk"},
                              headers=api.auth("admin"))
    assert created.status_code == 201, created.text
    secret, token_id = created.json()["token"], created.json()["id"]
    as_new = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/v1/cis", headers=as_new).status_code == 200

    listed = api.client.get("/v1/tokens?role=operator", headers=api.auth("admin")).json()
    assert {t["name"] for t in listed["items"]} == {"test operator", "night desk"}
    assert secret not in str(listed)
    assert api.client.get("/v1/tokens", headers=as_new).status_code == 403

    assert api.client.delete(f"/v1/tokens/{token_id}",
                             headers=api.auth("admin")).status_code == 204
    refused = api.client.get("/v1/cis", headers=as_new)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert api.client.delete(f"/v1/tokens/{token_id}",
                             headers=api.auth("admin")).status_code == 404
    assert [(e["action"], e["target"], e["actor"]) for e in audit(api)] == [
        ("token.revoke", token_id, "test admin"), ("token.create", token_id, "test admin")]
    bad = api.client.post("/v1/tokens", json={"role": "agent", "name": "x"},
                          headers=api.auth("admin"))
    assert bad.status_code == 422


def test_incident_actions_are_audited_with_the_version_they_made(api: OpsApi) -> None:
    api.report()
    [incident] = api.incidents()
    _, etag = api.incident(incident["id"])
    api.act(incident["id"], "acknowledge", etag)

    [entry] = audit(api, actor="test operator")
    assert (entry["action"], entry["target"], entry["role"]) == (
        "incident.acknowledge", incident["id"], "operator")
    assert entry["detail"]["version"] == int(etag.strip('"')) + 1
    assert audit(api, action="nothing") == []


def test_other_changes_are_audited_by_the_safety_net(api: OpsApi) -> None:
    def touch(thing_id: str, principal: Operator) -> dict[str, str]:
        return {"touched": thing_id}

    api.client.app.add_api_route("/v1/things/{thing_id}", touch, methods=["PUT"])  # type: ignore[attr-defined]

    assert api.client.put("/v1/things/t-1", headers=api.auth("operator")).status_code == 200
    assert api.client.put("/v1/things/t-2", headers=api.auth("agent")).status_code == 403
    assert [(e["action"], e["target"], e["actor"]) for e in audit(api)] == [
        ("PUT /v1/things/{thing_id}", "/v1/things/t-1", "test operator")]


def test_audit_pages_newest_first(api: OpsApi) -> None:
    for n in range(3):
        api.client.post("/v1/tokens", json={"role": "operator", "name": f"t{n}"},
                        headers=api.auth("admin"))
    first = api.client.get("/v1/audit?limit=2", headers=api.auth("admin")).json()
    rest = api.client.get(f"/v1/audit?limit=2&cursor={first['next_cursor']}",
                          headers=api.auth("admin")).json()
    assert [e["detail"]["name"] for e in first["items"] + rest["items"]] == ["t2", "t1", "t0"]
    assert rest["next_cursor"] is None
