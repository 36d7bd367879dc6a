"""KPIs from incidents, SLA events and intake counts (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cmdb.records import Incident, IncidentEvent
from rules.kpis import Received, compute

T0 = datetime(2026, 11, 2, tzinfo=UTC)
END = T0 + timedelta(days=7)


def incident(n: int, opened: timedelta, **fields: object) -> Incident:
    base = Incident(id=f"i{n}", fingerprint=f"fp{n}", rule="disk", ci_id="ci-a",
                    state="new", severity="major", summary="", opened_at=T0 + opened,
                    last_seen=T0 + opened, occurrences=1)
    return replace(base, **fields)  # type: ignore[arg-type]


def test_kpis_of_a_week() -> None:
    minute = timedelta(minutes=1)
    incidents = [
        incident(1, minute, priority=2, acknowledged_at=T0 + 3 * minute,
                 resolved_at=T0 + 31 * minute, state="resolved", assignment_group="Unix",
                 occurrences=5),
        incident(2, minute, priority=2, acknowledged_at=T0 + 11 * minute, reopen_count=1,
                 ci_id="ci-b", rule="ping", sla_emitted=("breach:resolution",),
                 resolved_at=T0 + 91 * minute, state="resolved"),
        incident(3, minute, priority=4, parent_id="i1", ci_id="ci-c"),
        # opened the week before, resolved in this one: counts for MTTR only
        incident(4, -timedelta(hours=2), priority=3, resolved_at=T0, state="resolved"),
    ]
    breach = IncidentEvent("i2", T0 + 61 * minute, "sla", "engine",
                           {"checkpoint": "breach:resolution"})
    warning = IncidentEvent("i2", T0 + 50 * minute, "sla", "engine",
                            {"checkpoint": "warning:resolution"})

    kpis = compute(incidents, [warning, breach], Received(reports=90, events=30),
                   {"ci-a": "web-01"}, T0, END)

    assert (kpis.opened, kpis.resolved) == (3, 3)
    assert kpis.mtta_seconds == 360.0  # (2 + 10) / 2 minutes
    assert kpis.mttr_seconds == (30 + 90 + 120) * 60 / 3
    assert kpis.opened_by_priority == {"P2": 2, "P4": 1}
    assert kpis.resolved_by_priority == {"P2": 2, "P3": 1}
    assert kpis.opened_by_group == {"(none)": 2, "Unix": 1}
    assert (kpis.sla_breaches, kpis.sla_breaches_by_target) == (1, {"resolution": 1})
    assert kpis.sla_compliance == 2 / 3
    assert (kpis.reopened, kpis.reopen_rate) == (1, 1 / 3)
    assert [(n.key, n.name, n.incidents, n.occurrences) for n in kpis.noisiest_cis] == [
        ("ci-a", "web-01", 1, 5), ("ci-b", "ci-b", 1, 1), ("ci-c", "ci-c", 1, 1)]
    assert [n.key for n in kpis.noisiest_rules] == ["disk", "ping"]
    assert kpis.compression is not None
    assert (kpis.compression.roots, kpis.compression.children) == (2, 1)
    assert (kpis.compression.per_incident, kpis.compression.per_root) == (40.0, 60.0)


def test_an_empty_window_has_no_means_or_rates() -> None:
    kpis = compute([], [], Received(0, 0), {}, T0, END)
    assert (kpis.mtta_seconds, kpis.mttr_seconds, kpis.reopen_rate, kpis.sla_compliance) == (
        None, None, None, None)
