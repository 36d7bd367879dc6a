"""The pure core, table-driven with an injected clock: no store, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collector.observation import Observation
from rules.decisions import (
    OpenIncident,
    RecurIncident,
    ResolveIncident,
    StartPending,
    StopPending,
)
from rules.engine import CIView, EngineState, evaluate, render
from rules.loader import parse_rules

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = parse_rules("""
rules:
  - name: fs-full
    metric: host.filesystem.used
    when: "> 90"
    clear: "< 80"
    for: 5m
    severity: major
    summary: "{ci}: {label.mountpoint} at {value}%"
    failure_mode: [mountpoint]
  - name: server-cpu
    metric: host.cpu.utilization
    when: "> 95"
    scope: {ci_class: [Server]}
""")
CIS = {"pc": CIView("pc", "Computer", "pc-0042"), "srv": CIView("srv", "Server", "db-01")}


def fs(value: float, minutes: float, mount: str = "/", ci: str = "pc") -> Observation:
    return Observation(ci_id=ci, name="host.filesystem.used", value=value, unit="percent",
                       observed_at=T0 + timedelta(minutes=minutes), source="agent",
                       labels=(("mountpoint", mount),))


def run(*observations: Observation, state: EngineState | None = None) -> list[object]:
    state = state if state is not None else EngineState()
    decisions: list[object] = []
    for observation in observations:
        decisions.extend(evaluate(RULES, [observation], CIS, state, observation.observed_at))
    return decisions


def kinds(decisions: list[object]) -> list[str]:
    return [type(d).__name__ for d in decisions]


def test_a_breach_shorter_than_for_opens_nothing() -> None:
    assert kinds(run(fs(95, 0), fs(96, 4), fs(50, 4.5))) == ["StartPending", "StopPending"]


def test_a_breach_held_for_the_duration_opens_once() -> None:
    decisions = run(fs(95, 0), fs(96, 3), fs(97, 5), fs(98, 6))
    assert kinds(decisions) == ["StartPending", "StopPending", "OpenIncident", "RecurIncident"]
    opened = decisions[2]
    assert isinstance(opened, OpenIncident)
    assert opened.summary == "pc-0042: / at 97%"
    assert opened.fingerprint == "fs-full|pc|mountpoint=/"
    assert opened.at == T0 + timedelta(minutes=5)


def test_hysteresis_keeps_it_open_between_the_thresholds() -> None:
    decisions = run(fs(95, 0), fs(95, 5), fs(85, 6), fs(81, 7), fs(79, 8))
    assert kinds(decisions) == ["StartPending", "StopPending", "OpenIncident",
                                "ResolveIncident"]
    assert isinstance(decisions[-1], ResolveIncident)


def test_each_failure_mode_is_its_own_fingerprint() -> None:
    decisions = run(fs(95, 0, "/"), fs(95, 0, "/home"))
    assert {d.fingerprint for d in decisions if isinstance(d, StartPending)} == {
        "fs-full|pc|mountpoint=/", "fs-full|pc|mountpoint=/home"}


def test_scope_limits_rules_to_classes() -> None:
    def cpu(ci: str) -> Observation:
        return Observation(ci_id=ci, name="host.cpu.utilization", value=99, unit="percent",
                           observed_at=T0, source="agent")

    assert kinds(run(cpu("pc"))) == []
    assert kinds(run(cpu("srv"))) == ["OpenIncident"]


def test_state_restored_after_a_restart_neither_reopens_nor_forgets() -> None:
    state = EngineState()
    run(fs(95, 0), fs(95, 5), state=state)
    restored = EngineState(pending=dict(state.pending), open=set(state.open))
    assert kinds(run(fs(96, 6), state=restored)) == ["RecurIncident"]
    assert kinds(run(fs(70, 7), state=restored)) == ["ResolveIncident"]


def test_pending_state_survives_between_calls() -> None:
    state = EngineState()
    run(fs(95, 0), state=state)
    assert state.pending == {"fs-full|pc|mountpoint=/": T0}
    decisions = run(fs(95, 5), state=EngineState(pending=dict(state.pending)))
    assert kinds(decisions) == ["StopPending", "OpenIncident"]
    assert isinstance(decisions[0], StopPending)
    assert not isinstance(decisions[1], RecurIncident)


def test_templates_cannot_reach_into_objects() -> None:
    assert render("{value.__class__} {ci}", {"ci": "pc"}) == "{value.__class__} pc"
