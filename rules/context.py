"""What every evaluation stage receives: the inputs, the state and the decisions so far.

Stages share one signature, `stage(ctx) -> None`, and are chained by `engine.py`,
the way Alertmanager chains its notification stages. Nothing here does I/O: the
graph view and the ledger are passed in, and time is `ctx.now`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from cmdb.records import Incident, IncidentEvent
from rules.ledger import Ledger
from rules.model import Rule
from rules.view import CIView, GraphView, ImpactFacts

SignalKind = Literal["fire", "repeat", "clear"]


@dataclass(frozen=True, slots=True)
class Signal:
    """A condition's verdict for one fingerprint at one time."""

    kind: SignalKind
    rule: Rule
    ci_id: str
    fingerprint: str
    at: datetime
    value: float | None = None
    state: str | None = None
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """One thing the engine decided, for tests, the timeline and the API: `kind` is
    open, recur, resolve, reopen, attach, detach, flapping, release, notify,
    suppress, escalate, priority, pending, pending_cancelled."""

    kind: str
    fingerprint: str
    incident_id: str | None = None
    detail: tuple[tuple[str, object], ...] = ()

    def get(self, key: str) -> object:
        return dict(self.detail).get(key)


@dataclass(frozen=True, slots=True)
class Priority:
    level: int
    impact: int
    urgency: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Route:
    receivers: tuple[str, ...]
    assignment_group: str | None
    routes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SlaDue:
    """An SLA checkpoint reached: `key` is recorded so it is never emitted twice."""

    key: str
    kind: Literal["warning", "breach"]
    target: Literal["response", "resolution"]
    escalate_to: tuple[str, ...]
    raise_priority: bool


def _default_priority(incident: Incident, facts: ImpactFacts) -> Priority:
    impact = 1 if any(s.status == "down" and s.criticality == "high"
                      for s in facts.business_services) else 2 if facts.business_services else 3
    level = min(5, max(1, impact + incident.urgency - 1))
    return Priority(level, impact, incident.urgency,
                    (f"impact {impact}, urgency {incident.urgency}",))


@dataclass(frozen=True)
class Policy:
    """The knobs and pluggable policies the core consults (routing, priority, SLA and
    maintenance come from `rules.policy`; these defaults keep the core usable alone)."""

    hold_down: timedelta = timedelta(seconds=30)
    reopen_window: timedelta = timedelta(hours=1)
    flap_transitions: int = 5
    flap_window: timedelta = timedelta(hours=1)
    repeat_interval: timedelta = timedelta(hours=4)
    priority: Callable[[Incident, ImpactFacts], Priority] = _default_priority
    route: Callable[[Incident, CIView | None], Route] = (
        lambda incident, ci: Route((), None))
    maintenance: Callable[[Incident, CIView | None, frozenset[str], datetime], str | None] = (
        lambda incident, ci, upstream, now: None)
    sla: Callable[[Incident, datetime], Sequence[SlaDue]] = lambda incident, now: ()
    next_sla_check: Callable[[Incident], datetime | None] = lambda incident: None


@dataclass
class Evaluation:
    rules: Sequence[Rule]
    view: GraphView
    ledger: Ledger
    policy: Policy
    now: datetime
    signals: list[Signal] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    # Incidents opened, reopened or released by this evaluation: correlate and notify
    # them, in order (a dict is an ordered set).
    touched: dict[str, None] = field(default_factory=dict)

    def decide(self, kind: str, fingerprint: str, incident_id: str | None = None,
               **detail: object) -> None:
        self.decisions.append(Decision(kind, fingerprint, incident_id,
                                       tuple(sorted(detail.items()))))

    def event(self, incident: Incident, kind: str, **detail: object) -> IncidentEvent:
        return IncidentEvent(incident.id, self.now, kind, "engine", detail)

    def touch(self, incident_id: str) -> None:
        self.touched.setdefault(incident_id)
