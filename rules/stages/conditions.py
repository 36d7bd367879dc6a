"""Stage: conditions. Each matched observation moves its fingerprint's state machine
(pending -> firing -> clearing) and may emit a signal: `fire`, `repeat` or `clear`.

Threshold and state rules fire after their condition held for `for`; they clear when
the clear condition held for `clear_for` (hysteresis: between the two nothing
changes). Absence rules arm a deadline with every observation; the deadline passing
with no data (`tick`) fires them, and data coming back clears them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cmdb.records import RuleState
from collector.observation import Observation
from rules.context import Evaluation, Signal, SignalKind
from rules.model import Rule


@dataclass(frozen=True, slots=True)
class Match:
    """One observation matched by one rule, with the incident fingerprint it maps to."""

    rule: Rule
    observation: Observation
    fingerprint: str


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _time(data: dict[str, object], key: str) -> datetime | None:
    value = data.get(key)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _verdict(rule: Rule, observation: Observation) -> tuple[bool, bool]:
    """(failing, cleared) for one observation; neither in a hysteresis band."""
    if rule.kind == "threshold":
        value = observation.value
        if value is None or rule.when is None or rule.clear is None:
            return False, False
        return rule.when.holds(value), rule.clear.holds(value)
    if rule.kind == "state":
        failing = observation.state in rule.states
        return failing, not failing
    return False, True  # absence: any data means the source is alive


def conditions(ctx: Evaluation, matches: Sequence[Match]) -> None:
    ctx.ledger.preload(m.fingerprint for m in matches)
    for m in sorted(matches, key=lambda m: m.observation.observed_at):
        _advance(ctx, m)


def _advance(ctx: Evaluation, m: Match) -> None:
    rule, obs, fp = m.rule, m.observation, m.fingerprint
    at = obs.observed_at
    stored = ctx.ledger.rule_state(fp)
    data = dict(stored.data) if stored else {}
    due = stored.due_at if stored else None
    failing, cleared = _verdict(rule, obs)
    is_open = ctx.ledger.open_incident(fp) is not None
    kind: SignalKind | None = None
    if rule.kind == "absence":
        data["last_data_at"], due = _iso(at), at + rule.for_
        data["labels"] = [list(pair) for pair in obs.labels]
        kind = "clear" if is_open else None
    elif is_open:
        kind, data = _while_open(rule, failing, cleared, at, data)
    elif failing:
        pending = _time(data, "pending_since")
        if at - (pending or at) >= rule.for_:
            kind, data["pending_since"] = "fire", None
        elif pending is None:
            data["pending_since"] = _iso(at)
            ctx.decide("pending", fp, since=at)
    elif data.get("pending_since") is not None:
        data["pending_since"] = None
        ctx.decide("pending_cancelled", fp, reason="condition no longer holds")
    _store(ctx, rule, obs.ci_id, fp, data, due)
    if kind is not None:
        ctx.signals.append(Signal(kind, rule, obs.ci_id, fp, at, obs.value, obs.state,
                                  obs.labels))


def _while_open(rule: Rule, failing: bool, cleared: bool, at: datetime,
                data: dict[str, object]) -> tuple[SignalKind | None, dict[str, object]]:
    if failing:
        data["clearing_since"] = None
        return "repeat", data
    if not cleared:
        data["clearing_since"] = None  # in the hysteresis band: no change
        return None, data
    clearing = _time(data, "clearing_since") or at
    if at - clearing >= rule.clear_for:
        data["clearing_since"] = None
        return "clear", data
    data["clearing_since"] = _iso(clearing)
    return None, data


def _store(ctx: Evaluation, rule: Rule, ci_id: str, fp: str, data: dict[str, object],
           due: datetime | None) -> None:
    meaningful = {k: v for k, v in data.items() if v not in (None, [], "")}
    if not meaningful and due is None:
        ctx.ledger.drop_state(fp)
    else:
        ctx.ledger.put_state(RuleState(fp, rule.name, ci_id, meaningful, due))


def absence_deadlines(ctx: Evaluation) -> None:
    """Tick: absence rules whose deadline passed with no data fire now."""
    rules = {r.name: r for r in ctx.rules if r.kind == "absence"}
    for state in ctx.ledger.due_rule_states(ctx.now):
        rule = rules.get(state.rule)
        if rule is None:  # the rule was removed: forget its timer
            ctx.ledger.drop_state(state.fingerprint)
            continue
        ctx.ledger.put_state(RuleState(state.fingerprint, state.rule, state.ci_id,
                                       state.data, None))
        if ctx.ledger.open_incident(state.fingerprint) is None:
            at = state.due_at or ctx.now
            raw = state.data.get("labels", [])
            labels = tuple((str(k), str(v)) for k, v in raw) if isinstance(raw, list) else ()
            ctx.signals.append(Signal("fire", rule, state.ci_id, state.fingerprint, at,
                                      labels=labels))
