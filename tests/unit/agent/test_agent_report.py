from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

from agent.probes import catalog
from agent.report import MAX_METRICS_PER_REPORT, build_report, build_reports, encode_report

AT = 1_795_000_000.7


def test_report_has_the_required_fields() -> None:
    samples = [
        catalog.CPU_UTILIZATION.sample(12.5, cpu="total"),
        catalog.FILESYSTEM_USED.sample(71.2, mountpoint="/"),
    ]
    report = build_report("pc-0042", AT, samples, {"hostname": "pc-0042"})
    assert uuid.UUID(report["report_id"]).version == 4
    assert report["agent_id"] == "pc-0042"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", report["agent_version"])
    assert report["collected_at"] == "2026-11-18T11:06:40Z"
    assert datetime.fromisoformat(report["collected_at"]).utcoffset() is not None
    assert report["inventory"] == {"hostname": "pc-0042"}
    assert report["metrics"] == [
        {"name": "host.cpu.utilization", "value": 12.5, "unit": "percent",
         "labels": {"cpu": "total"}},
        {"name": "host.filesystem.used", "value": 71.2, "unit": "percent",
         "labels": {"mountpoint": "/"}},
    ]


def test_each_report_gets_its_own_id() -> None:
    ids = {build_report("a", AT)["report_id"] for _ in range(50)}
    assert len(ids) == 50


def test_a_report_without_metrics_or_inventory_is_a_heartbeat() -> None:
    report = build_report("pc-0042", AT, [], None)
    assert set(report) == {"report_id", "agent_id", "agent_version", "collected_at"}


def test_non_finite_values_are_left_out() -> None:
    samples = [catalog.UPTIME.sample(float("nan")), catalog.USERS.sample(2)]
    report = build_report("a", AT, samples)
    assert [m["name"] for m in report["metrics"]] == ["host.users"]
    json.loads(encode_report(report))  # strict JSON: no NaN literals


def test_long_metric_lists_are_split_with_inventory_in_the_first_report() -> None:
    samples = [catalog.PROCESSES.sample(i) for i in range(MAX_METRICS_PER_REPORT * 2 + 1)]
    reports = build_reports("a", AT, samples, {"hostname": "h"})
    assert [len(r["metrics"]) for r in reports] == [2000, 2000, 1]
    assert ["inventory" in r for r in reports] == [True, False, False]
    assert len({r["report_id"] for r in reports}) == 3
