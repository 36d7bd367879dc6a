"""`GET /v1/kpis` on each store: what operators did, measured."""

from __future__ import annotations

import json

from tests.conftest import Clock
from tests.integration.api.conftest import OpsApi
from tests.integration.apiclient import DATA


def test_kpis_measure_acknowledge_and_resolve_times(api: OpsApi, clock: Clock) -> None:
    start = clock()
    api.report()
    [incident] = api.incidents()
    _, etag = api.incident(incident["id"])
    clock.advance(minutes=2)
    etag = api.act(incident["id"], "acknowledge", etag).headers["etag"]
    clock.advance(minutes=8)
    api.act(incident["id"], "resolve", etag)
    firing = json.loads((DATA / "alertmanager" / "firing.json").read_text())
    api.client.post("/v1/alertmanager", json=firing, headers=api.auth("integration"))
    clock.advance(minutes=1)

    answer = api.client.get("/v1/kpis", params={"from": start.isoformat(),
                                                "to": clock().isoformat()},
                            headers=api.auth("operator"))

    assert answer.status_code == 200, answer.text
    kpis = answer.json()
    assert (kpis["opened"], kpis["resolved"]) == (2, 1)
    assert (kpis["mtta_seconds"], kpis["mttr_seconds"]) == (120.0, 600.0)
    assert kpis["opened_by_group"] == {"Service Desk": 2}
    assert sum(kpis["opened_by_priority"].values()) == 2
    assert kpis["compression"]["reports"] == 1
    assert kpis["compression"]["events"] == 1
    assert kpis["noisiest_cis"][0]["name"] == "pc-0042.corp.example"
    assert kpis["noisiest_cis"][0]["incidents"] == 2
    assert {r["key"] for r in kpis["noisiest_rules"]} == {"filesystem-full", "alert"}

    before = api.client.get("/v1/kpis", params={"to": start.isoformat()},
                            headers=api.auth("operator")).json()
    assert before["opened"] == 0
    backwards = api.client.get("/v1/kpis", params={"from": clock().isoformat(),
                                                   "to": start.isoformat()},
                               headers=api.auth("operator"))
    assert backwards.status_code == 422
    assert api.client.get("/v1/kpis", headers=api.auth("agent")).status_code == 403
