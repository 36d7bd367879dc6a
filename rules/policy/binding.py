"""Bind the policy files (`policy.yaml`, `routing.yaml`) to the evaluation core's hooks."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import cast

from cmdb.records import Incident
from rules import context
from rules.policy.config import Policy, load_policy
from rules.policy.maintenance import active_window
from rules.policy.priority import (
    CRITICALITIES,
    Criticality,
    ImpactedService,
    ImpactFacts,
    assess_priority,
)
from rules.policy.routing import Route, RoutingInput, load_routing, route
from rules.policy.sla import IncidentTiming, SlaEventKey, next_sla_check, sla_events_due
from rules.view import CIView
from rules.view import ImpactFacts as ViewFacts


def _facts(view: ViewFacts) -> ImpactFacts:
    def criticality(raw: str | None) -> Criticality | None:
        value = (raw or "").strip().lower()  # CMDB criticality is free text
        return value if value in CRITICALITIES else None

    return ImpactFacts(
        tuple(ImpactedService(s.name, criticality(s.criticality), s.status)
              for s in view.business_services),
        view.dependent_cis, view.users)


def _emitted(incident: Incident) -> frozenset[SlaEventKey]:
    keys = (tuple(k.split(":", 1)) for k in incident.sla_emitted)
    return frozenset(cast(SlaEventKey, k) for k in keys if len(k) == 2)


def _timing(incident: Incident) -> IncidentTiming:
    return IncidentTiming(incident.opened_at, incident.priority, incident.acknowledged_at,
                          incident.resolved_at)


def bind(policy: Policy, tree: Route | None) -> context.Policy:
    """The core's `Policy` with routing, priority, SLA and maintenance from the files."""

    def route_incident(incident: Incident, ci: CIView | None) -> context.Route:
        if tree is None:
            return context.Route((), None)
        decision = route(tree, RoutingInput(
            ci_class=ci.ci_class if ci else None, ci_name=ci.name if ci else None,
            location=ci.location if ci else None,
            owner_group=ci.owner_group if ci else None,
            support_group=ci.support_group if ci else None,
            rule=incident.rule, severity=incident.severity, priority=incident.priority,
            labels=tuple(sorted(incident.labels.items()))))
        return context.Route(decision.receivers, decision.assignment_group, decision.routes)

    def maintenance(incident: Incident, ci: CIView | None, upstream: frozenset[str],
                    now: datetime) -> str | None:
        return active_window(policy.maintenance, incident.ci_id, ci.ci_class if ci else None,
                             ci.location if ci else None, upstream, now)

    def sla(incident: Incident, now: datetime) -> Sequence[context.SlaDue]:
        if incident.parent_id is not None:  # children are not ticketed: no SLA of their own
            return ()
        return [context.SlaDue(f"{e.kind}:{e.target}", e.kind, e.target, e.escalate_to,
                               e.raise_priority)
                for e in sla_events_due(_timing(incident), _emitted(incident), now, policy.sla)]

    def next_check(incident: Incident) -> datetime | None:
        if incident.parent_id is not None or not incident.is_open:
            return None
        return next_sla_check(_timing(incident), _emitted(incident), policy.sla)

    def priority(incident: Incident, facts: ViewFacts) -> context.Priority:
        p = assess_priority(_facts(facts), incident.rule, incident.severity,
                            incident.urgency, policy.priority)
        return context.Priority(p.level, p.impact, p.urgency, p.reasons)

    notifications = policy.notifications
    return context.Policy(
        hold_down=notifications.hold_down, reopen_window=notifications.reopen_window,
        flap_transitions=notifications.flapping.transitions,
        flap_window=notifications.flapping.window,
        repeat_interval=notifications.repeat_interval, priority=priority,
        route=route_incident, maintenance=maintenance, sla=sla, next_sla_check=next_check)


def load_bound_policy(policy_file: Path | None, routing_file: Path | None,
                      known_receivers: Collection[str] | None = None) -> context.Policy:
    """Read and validate both files (`RuleConfigError` names file:line on a problem)."""
    policy = load_policy(policy_file) if policy_file else Policy()
    tree = load_routing(routing_file, known_receivers) if routing_file else None
    return bind(policy, tree)
