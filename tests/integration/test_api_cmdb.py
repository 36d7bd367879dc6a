"""CMDB read endpoints over HTTP, on each store: impact, dependencies, relationships,
history, conflicts."""

from __future__ import annotations

from cmdb.reconcile import reconcile
from cmdb.store import GraphStore
from collector.observation import Inventory
from tests.conftest import Clock
from tests.contract.estate import build_estate
from tests.integration.apiclient import running_api


def test_impact_endpoint_lists_paths_and_services(store: GraphStore, clock: Clock) -> None:
    ids = build_estate(store, clock())
    with running_api(store, clock) as api:
        answer = api.client.get(f"/v1/cis/{ids['access-sw']}/impact",
                                headers=api.auth("operator"))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["ci"]["name"] == "access-sw"
        assert sorted((a["name"], a["status"], a["depth"]) for a in body["affected"]) == [
            ("pc-1", "down", 1), ("pc-2", "down", 1), ("pc-3", "down", 1)]
        assert body["business_services"] == []

        answer = api.client.get(f"/v1/cis/{ids['db-1']}/impact?depth=2",
                                headers=api.auth("operator"))
        affected = {a["name"]: a for a in answer.json()["affected"]}
        assert affected["crm"]["status"] == "degraded"
        assert affected["sales"]["path"] == [
            {"ci_id": ids["crm"], "relationship": "DEPENDS_ON"},
            {"ci_id": ids["sales"], "relationship": "DEPENDS_ON"}]

        deps = api.client.get(f"/v1/cis/{ids['pc-1']}/dependencies",
                              headers=api.auth("operator")).json()
        assert [d["name"] for d in deps["dependencies"]] == ["access-sw", "core-sw"]

        rels = api.client.get(f"/v1/cis/{ids['pc-1']}/relationships",
                              headers=api.auth("operator")).json()
        assert [(r["type"], r["properties"]) for r in rels] == [
            ("CONNECTED_TO", {"port": "Fa0/1"})]

        assert api.client.get(f"/v1/cis/{ids['pc-1']}/impact?depth=0",
                              headers=api.auth("operator")).status_code == 422
        assert api.client.get("/v1/cis/missing/impact",
                              headers=api.auth("operator")).status_code == 404
        assert api.client.get(f"/v1/cis/{ids['pc-1']}/impact",
                              headers=api.auth("agent")).status_code == 403


def test_history_and_conflicts_endpoints(store: GraphStore, clock: Clock) -> None:
    [a] = reconcile(store, [Inventory("agent", "Computer", {"agent_id": "a1",
                                                            "hostname": "alpha"}, {})], clock())
    [b] = reconcile(store, [Inventory("agent", "Computer", {"agent_id": "a2",
                                                            "hostname": "beta"}, {})], clock())
    reconcile(store, [Inventory("snmp", "Computer", {"agent_id": "a1", "hostname": "beta"},
                                {"sys_name": "ALPHA"})], clock())
    with running_api(store, clock) as api:
        conflicts = api.client.get("/v1/reconciliation/conflicts",
                                   headers=api.auth("operator")).json()
        assert [(c["chosen_ci_id"], c["other_ci_id"], c["key"]) for c in conflicts] == [
            (a.ci_id, b.ci_id, "hostname:beta")]
        history = api.client.get(f"/v1/cis/{a.ci_id}/history",
                                 headers=api.auth("operator")).json()
        assert [(h["attribute"], h["new"], h["source"]) for h in history] == [
            ("sys_name", "ALPHA", "snmp")]
