"""The pure evaluation core: observations + graph view + state + now in, decisions out.

`evaluate()` runs the stages match -> conditions -> lifecycle -> correlate -> notify
(prioritise, route, notify); `tick()` runs the time-driven ones (absence deadlines,
hold-down ends, flapping quiet, SLA checkpoints, reminders). Neither does I/O nor
reads a clock: the graph view and the ledger (the engine's explicit state) are
passed in, and so is `now`. The caller persists the ledger's changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from collector.observation import Observation
from rules.context import Decision, Evaluation, Policy
from rules.ledger import Ledger
from rules.model import Rule
from rules.stages.conditions import Match, absence_deadlines, conditions
from rules.stages.correlate import correlate
from rules.stages.lifecycle import lifecycle, quiet_flapping
from rules.stages.notify import due, next_due, notify
from rules.view import CIView, GraphView

__all__ = ["Decision", "Policy", "evaluate", "fingerprint", "match", "tick"]


def fingerprint(rule: Rule, ci_id: str, labels: Iterable[tuple[str, str]]) -> str:
    """rule + CI + failure mode (the labels that tell one failure from another)."""
    observed = dict(labels)
    mode = ",".join(f"{k}={observed.get(k, '')}" for k in rule.failure_mode)
    readable = f"{rule.name}|{ci_id}|{mode}"
    if len(readable) <= 200:
        return readable
    # Ticketing dedup keys are bounded (PagerDuty: 255); keep long ones stable but short.
    return f"{rule.name[:100]}|{hashlib.sha256(readable.encode()).hexdigest()}"


def _in_scope(rule: Rule, observation: Observation, ci: CIView | None) -> bool:
    scope = rule.scope
    if any(observation.label(k) != v for k, v in scope.labels):
        return False
    if not (scope.ci_classes or scope.attributes or scope.locations):
        return True
    if ci is None:
        return False
    return ((not scope.ci_classes or ci.ci_class in scope.ci_classes)
            and (not scope.locations or ci.location in scope.locations)
            and all(str(ci.attributes.get(k)) == v for k, v in scope.attributes))


def match(rules: Sequence[Rule], observations: Iterable[Observation], view: GraphView
          ) -> list[Match]:
    """Stage 1: which rule applies to which observation."""
    by_metric: dict[str, list[Rule]] = {}
    for rule in rules:
        by_metric.setdefault(rule.metric, []).append(rule)
    matches: list[Match] = []
    for observation in observations:
        for rule in by_metric.get(observation.name, ()):
            ci = view.ci(observation.ci_id) if (
                rule.scope.ci_classes or rule.scope.attributes or rule.scope.locations) else None
            if _in_scope(rule, observation, ci):
                matches.append(Match(rule, observation,
                                     fingerprint(rule, observation.ci_id, observation.labels)))
    return matches


def _finish(ctx: Evaluation) -> list[Decision]:
    """Every open incident changed here gets its next look-again time."""
    for incident in list(ctx.ledger.changes.incidents.values()):
        if incident.is_open:
            when = next_due(ctx, incident)
            if when != incident.due_at:
                ctx.ledger.put(replace(incident, due_at=when))
    return ctx.decisions


def evaluate(rules: Sequence[Rule], observations: Sequence[Observation], view: GraphView,
             ledger: Ledger, policy: Policy, now: datetime) -> list[Decision]:
    """Run the stages over `observations`; the ledger holds the resulting changes."""
    ctx = Evaluation(rules, view, ledger, policy, now)
    conditions(ctx, match(rules, observations, view))
    lifecycle(ctx)
    correlate(ctx)
    notify(ctx)
    return _finish(ctx)


def tick(rules: Sequence[Rule], view: GraphView, ledger: Ledger, policy: Policy,
         now: datetime) -> list[Decision]:
    """Time-driven work with no new observation: absence deadlines, hold-down ends,
    flapping incidents gone quiet, SLA checkpoints and reminders."""
    ctx = Evaluation(rules, view, ledger, policy, now)
    absence_deadlines(ctx)
    lifecycle(ctx)
    correlate(ctx)
    notify(ctx)
    for incident in ledger.due_incidents(now):
        current = ledger.incident(incident.id) or incident
        ledger.remember(current)
        if not current.is_open or current.id in ctx.touched:
            continue
        if not quiet_flapping(ctx, current):
            due(ctx, current)
    notify(ctx)
    return _finish(ctx)
