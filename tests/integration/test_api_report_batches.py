"""Batches of agent reports (`{"reports": [...]}`) through the HTTP API onto each store:
each report accepted as if alone, idempotent by `report_id`, validated whole first."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest

from cmdb.errors import InvalidModel
from cmdb.store import GraphStore, WriteTx
from collector.intake import IntakeResult, ReportIntake
from collector.report_model import AgentReport
from tests.conftest import Clock
from tests.integration.apiclient import Api, running_api, sample_report

PROBLEM = "application/problem+json"


@pytest.fixture
def api(store: GraphStore, clock: Clock) -> Iterator[Api]:
    with running_api(store, clock) as running:
        yield running


def full_disk(report_id: str, value: float = 97.5) -> dict[str, Any]:
    """A metrics-only report; the `/` filesystem at `value` percent."""
    report = sample_report(report_id=report_id)
    del report["inventory"]
    report["metrics"][2]["value"] = value
    return report


def post_batch(api: Api, reports: list[dict[str, Any]], role: str = "agent") -> Any:
    return api.client.post("/v1/reports", json={"reports": reports}, headers=api.auth(role))


def incidents(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.client.get(
        "/v1/incidents", headers=api.auth("operator")).json()["items"]
    return items


def cis(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.client.get(
        "/v1/cis", headers=api.auth("operator")).json()["items"]
    return items


def test_a_batch_is_accepted_report_by_report_in_order(api: Api) -> None:
    reports = [sample_report(), full_disk("r-000000002"), full_disk("r-000000003", 70.0)]

    answer = post_batch(api, reports)

    assert answer.status_code == 202, answer.text
    results = answer.json()["results"]
    assert [r["report_id"] for r in results] == [r["report_id"] for r in reports]
    assert [r["duplicate"] for r in results] == [False, False, False]
    [ci] = cis(api)
    assert {r["ci_id"] for r in results} == {ci["id"]}
    assert ci["attributes"]["os_name"] == "Debian GNU/Linux"  # from the first report
    # Evaluated in order: opened by the first, repeated by the second, cleared by the third.
    [incident] = incidents(api)
    assert incident["occurrences"] == 2
    assert incident["state"] == "resolved"
    metrics = api.client.get("/metrics").text
    assert 'opsgraph_reports_total{outcome="accepted"} 3.0' in metrics


def test_a_retried_batch_counts_each_report_once(api: Api) -> None:
    reports = [sample_report(), full_disk("r-000000002")]
    first = post_batch(api, reports)
    again = post_batch(api, reports)

    assert again.status_code == 202
    assert again.json()["results"] == [
        {**r, "duplicate": True} for r in first.json()["results"]]
    [incident] = incidents(api)
    assert incident["occurrences"] == 2
    metrics = api.client.get("/metrics").text
    assert 'opsgraph_reports_total{outcome="duplicate"} 2.0' in metrics


def test_a_report_already_accepted_alone_or_repeated_in_the_batch_is_a_duplicate(
        api: Api) -> None:
    single = api.client.post("/v1/reports", json=sample_report(), headers=api.auth("agent"))
    assert single.status_code == 202
    ci_id = single.json()["ci_id"]

    answer = post_batch(api, [sample_report(), full_disk("r-000000002"),
                              full_disk("r-000000002")])

    assert answer.status_code == 202, answer.text
    assert answer.json()["results"] == [
        {"report_id": sample_report()["report_id"], "ci_id": ci_id, "duplicate": True},
        {"report_id": "r-000000002", "ci_id": ci_id, "duplicate": False},
        {"report_id": "r-000000002", "ci_id": ci_id, "duplicate": True},
    ]
    [incident] = incidents(api)
    assert incident["occurrences"] == 2  # the single report and r-000000002, once each


def test_a_gzip_batch_is_accepted_and_the_size_limit_applies_after_gunzip(
        store: GraphStore, clock: Clock) -> None:
    with running_api(store, clock, max_body_bytes=8192) as api:
        small = gzip.compress(json.dumps({"reports": [full_disk("r-000000002")]}).encode())
        headers = {**api.auth("agent"), "Content-Encoding": "gzip",
                   "Content-Type": "application/json"}
        assert api.client.post("/v1/reports", content=small,
                               headers=headers).status_code == 202
        many = [full_disk(f"r-1{n:08d}") for n in range(20)]
        big = gzip.compress(json.dumps({"reports": many}).encode())
        assert len(big) < 8192
        answer = api.client.post("/v1/reports", content=big, headers=headers)
        assert answer.status_code == 413
        [incident] = incidents(api)
        assert incident["occurrences"] == 1  # the small batch's report only


@pytest.mark.parametrize(
    ("bad", "loc"),
    [
        ({"metrics": [{"name": "host.cpu", "value": 1, "unit": "furlongs"}]},
         "reports.1.metrics.0.unit"),
        ({"collected_at": "2026-11-23T12:00:00"}, "reports.1.collected_at"),
        ({"report_id": None}, "reports.1.report_id"),
    ],
)
def test_one_invalid_report_names_its_index_and_nothing_is_accepted(
        api: Api, bad: dict[str, object], loc: str) -> None:
    reports = [sample_report(), {**full_disk("r-000000002"), **bad}, full_disk("r-000000003")]

    answer = post_batch(api, reports)

    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["detail"].startswith(f"{loc}:")
    assert [e["loc"] for e in problem["errors"]] == [loc]
    assert cis(api) == []
    good = post_batch(api, [reports[0], reports[2]])
    assert [r["duplicate"] for r in good.json()["results"]] == [False, False]


@pytest.mark.parametrize(
    ("body", "loc"),
    [({"reports": []}, "reports"),
     ({"reports": [{"report_id": f"r-{n:08d}", "agent_id": "pc-0042",
                    "collected_at": "2026-11-23T12:00:00Z"} for n in range(501)]}, "reports"),
     ({"reports": {"report_id": "r-00000001"}}, "reports"),
     ({"reports": [sample_report()], "agent_id": "pc-0042"}, "agent_id")],
)
def test_a_malformed_batch_is_422(api: Api, body: dict[str, Any], loc: str) -> None:
    answer = api.client.post("/v1/reports", json=body, headers=api.auth("agent"))
    assert answer.status_code == 422, answer.text
    assert loc in [e["loc"] for e in answer.json()["errors"]]
    assert cis(api) == []


def test_a_batch_naming_another_agent_is_403_and_nothing_is_accepted(api: Api) -> None:
    reports = [sample_report(), full_disk("r-000000002"),
               {**full_disk("r-000000003"), "agent_id": "pc-0099"}]

    answer = post_batch(api, reports)

    assert answer.status_code == 403
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["detail"].startswith("reports.2: ")
    assert "pc-0042" in answer.json()["detail"]
    assert cis(api) == []
    assert post_batch(api, reports, role="admin").status_code == 202  # admin may
    assert post_batch(api, reports, role="operator").status_code == 403


def test_a_report_the_cmdb_refuses_names_its_index_and_rolls_the_batch_back(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    accept_in = ReportIntake._accept_in

    def refuse_r2(self: ReportIntake, tx: WriteTx, report: AgentReport, now: Any
                  ) -> IntakeResult:
        if report.report_id == "r-000000002":
            raise InvalidModel("this host cannot be filed")
        return accept_in(self, tx, report, now)

    monkeypatch.setattr(ReportIntake, "_accept_in", refuse_r2)

    answer = post_batch(api, [sample_report(), full_disk("r-000000002")])

    assert answer.status_code == 422
    problem = answer.json()
    assert [e["loc"] for e in problem["errors"]] == ["reports.1"]
    assert "cannot be filed" in problem["detail"]
    assert cis(api) == []  # the first report, written before, was rolled back
    assert incidents(api) == []
    monkeypatch.undo()
    answer = post_batch(api, [sample_report(), full_disk("r-000000002")])
    assert [r["duplicate"] for r in answer.json()["results"]] == [False, False]
