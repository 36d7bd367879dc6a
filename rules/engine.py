"""The pure evaluation core: observations + state + now in, decisions out.

No database, no HTTP, no clock: `evaluate()` is a chain of small stages with one
signature, so each stage is tested alone and a restart only needs the `EngineState`
(pending timers and open fingerprints) that the caller persisted.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from collector.observation import Observation
from rules.decisions import (
    Decision,
    OpenIncident,
    RecurIncident,
    ResolveIncident,
    StartPending,
    StopPending,
)
from rules.model import Rule


@dataclass(frozen=True, slots=True)
class CIView:
    """What a rule may ask of a CI: its class and display name."""

    ci_id: str
    ci_class: str
    name: str


@dataclass(slots=True)
class EngineState:
    """Everything evaluation remembers between calls; persisted by the caller."""

    pending: dict[str, datetime] = field(default_factory=dict)
    open: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Match:
    """One observation matched by one rule, with the incident fingerprint it maps to."""

    rule: Rule
    observation: Observation
    fingerprint: str


def fingerprint(rule: Rule, observation: Observation) -> str:
    """rule + CI + failure mode (the labels that tell one failure from another)."""
    mode = ",".join(f"{k}={observation.label(k) or ''}" for k in rule.failure_mode)
    readable = f"{rule.name}|{observation.ci_id}|{mode}"
    if len(readable) <= 200:
        return readable
    # Ticketing dedup keys are bounded (PagerDuty: 255); keep long ones stable but short.
    return f"{rule.name[:100]}|{hashlib.sha256(readable.encode()).hexdigest()}"


def match(rules: Sequence[Rule], observations: Iterable[Observation],
          cis: Mapping[str, CIView]) -> list[Match]:
    """Stage 1: which rule applies to which observation."""
    by_metric: dict[str, list[Rule]] = {}
    for rule in rules:
        by_metric.setdefault(rule.metric, []).append(rule)
    matches: list[Match] = []
    for observation in observations:
        if observation.value is None:
            continue
        ci = cis.get(observation.ci_id)
        for rule in by_metric.get(observation.name, ()):
            if rule.ci_classes and (ci is None or ci.ci_class not in rule.ci_classes):
                continue
            if any(observation.label(k) != v for k, v in rule.match_labels):
                continue
            matches.append(Match(rule, observation, fingerprint(rule, observation)))
    return matches


def threshold(matches: list[Match], state: EngineState, now: datetime,
              cis: Mapping[str, CIView]) -> list[Decision]:
    """Stage 2: the threshold state machine (pending -> open -> clear) per fingerprint."""
    decisions: list[Decision] = []
    for m in sorted(matches, key=lambda m: m.observation.observed_at):
        value = m.observation.value
        assert value is not None
        at = m.observation.observed_at
        fp = m.fingerprint
        if fp in state.open:
            if m.rule.clear.holds(value):
                state.open.discard(fp)
                decisions.append(ResolveIncident(fp, value, at))
            elif m.rule.when.holds(value):
                decisions.append(RecurIncident(fp, value, at))
            continue
        if not m.rule.when.holds(value):
            if state.pending.pop(fp, None) is not None:
                decisions.append(StopPending(fp))
            continue
        since = state.pending.get(fp)
        if since is None and m.rule.for_:
            state.pending[fp] = at
            decisions.append(StartPending(fp, m.observation.ci_id, at))
        elif since is None or at - since >= m.rule.for_:
            if state.pending.pop(fp, None) is not None:
                decisions.append(StopPending(fp))
            state.open.add(fp)
            decisions.append(_open(m, cis, value, at))
    return decisions


def _open(m: Match, cis: Mapping[str, CIView], value: float, at: datetime) -> OpenIncident:
    ci = cis.get(m.observation.ci_id)
    labels = dict(m.rule.labels)
    labels.update((k, m.observation.label(k) or "") for k in m.rule.failure_mode)
    fields = {
        "rule": m.rule.name,
        "ci": ci.name if ci else m.observation.ci_id,
        "metric": m.observation.name,
        "value": f"{value:g}",
        "threshold": str(m.rule.when),
        **{f"label.{k}": v for k, v in m.observation.labels},
    }
    summary = render(m.rule.summary, fields)
    return OpenIncident(m.fingerprint, m.rule.name, m.observation.ci_id, m.rule.severity,
                        summary, value, tuple(sorted(labels.items())), at)


_PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[A-Za-z0-9_]+)?)\}")


def render(template: str, fields: Mapping[str, str]) -> str:
    """`{name}` placeholders from `fields`; unknown ones stay as written. No format
    mini-language, so a rule author cannot reach into Python objects."""
    return _PLACEHOLDER.sub(lambda m: fields.get(m.group(1), m.group(0)), template)


def evaluate(rules: Sequence[Rule], observations: Sequence[Observation],
             cis: Mapping[str, CIView], state: EngineState, now: datetime) -> list[Decision]:
    """Run the stages over `observations`. `state` is updated in place to match the
    decisions returned, so the caller may persist either."""
    matches = match(rules, observations, cis)
    return threshold(matches, state, now, cis)


def candidate_fingerprints(rules: Sequence[Rule], observations: Sequence[Observation],
                           cis: Mapping[str, CIView]) -> list[str]:
    """The fingerprints `observations` may touch: the state a caller has to load."""
    return sorted({m.fingerprint for m in match(rules, observations, cis)})
