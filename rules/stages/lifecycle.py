"""Stage: lifecycle. Signals become incident changes: one open incident per
fingerprint (a repeat counts an occurrence), a recurrence within the reopen window
reopens the same incident instead of opening a new one, a clear resolves, and a
fingerprint that changes state too often is flagged flapping — it then stays open,
is not re-notified, and resolves only once it has been quiet for the flap window.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from cmdb.records import Incident, RuleState
from rules.context import Evaluation, Signal
from rules.render import incident_texts


def lifecycle(ctx: Evaluation) -> None:
    for signal in sorted(ctx.signals, key=lambda s: s.at):
        if signal.kind == "fire":
            _fire(ctx, signal)
        elif signal.kind == "repeat":
            _repeat(ctx, signal)
        else:
            _clear(ctx, signal)


def _transitions(ctx: Evaluation, signal: Signal) -> int:
    """Record a state change of the fingerprint; the count within the flap window."""
    state = ctx.ledger.rule_state(signal.fingerprint)
    data = dict(state.data) if state else {}
    raw = data.get("transitions", [])
    history = [t for t in raw if isinstance(t, str)] if isinstance(raw, list) else []
    history.append(signal.at.isoformat())
    cutoff = signal.at - ctx.policy.flap_window
    history = [t for t in history if datetime.fromisoformat(t) >= cutoff]
    data["transitions"] = history
    ctx.ledger.put_state(RuleState(signal.fingerprint, signal.rule.name, signal.ci_id, data,
                                   state.due_at if state else None))
    return len(history)


def _fire(ctx: Evaluation, signal: Signal) -> None:
    fp = signal.fingerprint
    if ctx.ledger.open_incident(fp) is not None:
        _repeat(ctx, signal)
        return
    flapping = _transitions(ctx, signal) > ctx.policy.flap_transitions
    previous = ctx.ledger.last_resolved(fp, signal.at - ctx.policy.reopen_window)
    if previous is not None:
        _reopen(ctx, previous, signal, flapping)
        return
    summary, description = incident_texts(signal, ctx.view.ci(signal.ci_id))
    incident = Incident(
        id=str(uuid.uuid4()), fingerprint=fp, rule=signal.rule.name, ci_id=signal.ci_id,
        state="new", severity=signal.rule.severity, summary=summary,
        description=description, opened_at=signal.at, last_seen=signal.at, occurrences=1,
        value=signal.value, labels=_labels(signal), urgency=signal.rule.urgency,
        held_until=signal.at + ctx.policy.hold_down, due_at=signal.at + ctx.policy.hold_down,
        flapping=flapping)
    ctx.ledger.put(incident, ctx.event(incident, "opened", rule=signal.rule.name,
                                       value=signal.value), new=True)
    ctx.decide("open", fp, incident.id)
    ctx.touch(incident.id)


def _reopen(ctx: Evaluation, previous: Incident, signal: Signal, flapping: bool) -> None:
    incident = replace(
        previous, state="reopened", resolved_at=None, last_seen=signal.at,
        occurrences=previous.occurrences + 1, value=signal.value,
        reopen_count=previous.reopen_count + 1, flapping=previous.flapping or flapping,
        held_until=signal.at + ctx.policy.hold_down, due_at=signal.at + ctx.policy.hold_down,
        version=previous.version + 1)
    ctx.ledger.put(incident, ctx.event(incident, "reopened", value=signal.value))
    ctx.decide("reopen", signal.fingerprint, incident.id, flapping=incident.flapping)
    if flapping and not previous.flapping:
        ctx.decide("flapping", signal.fingerprint, incident.id)
    ctx.touch(incident.id)


def _repeat(ctx: Evaluation, signal: Signal) -> None:
    current = ctx.ledger.open_incident(signal.fingerprint)
    if current is None:
        return
    incident = replace(current, occurrences=current.occurrences + 1, value=signal.value,
                       last_seen=max(current.last_seen, signal.at), version=current.version + 1)
    ctx.ledger.put(incident)
    ctx.decide("recur", signal.fingerprint, incident.id, occurrences=incident.occurrences)


def _clear(ctx: Evaluation, signal: Signal) -> None:
    current = ctx.ledger.open_incident(signal.fingerprint)
    if current is None:
        return
    count = _transitions(ctx, signal)
    if current.flapping or count > ctx.policy.flap_transitions:
        flagged = replace(current, flapping=True, version=current.version + 1)
        if not current.flapping:
            ctx.ledger.put(flagged, ctx.event(flagged, "flapping", transitions=count))
            ctx.decide("flapping", signal.fingerprint, flagged.id)
        else:
            ctx.ledger.put(flagged)
        return
    resolve(ctx, current, signal.at, value=signal.value, reason="condition cleared")


def resolve(ctx: Evaluation, current: Incident, at: datetime, value: float | None,
            reason: str, actor: str = "engine") -> Incident:
    """Resolve an open incident; its open children become roots again (their own
    conditions still hold), held back for a hold-down like any new incident."""
    incident = replace(current, state="resolved", resolved_at=at, last_seen=at, value=value,
                       held_until=None, due_at=None, version=current.version + 1)
    event = ctx.event(incident, "resolved", reason=reason)
    ctx.ledger.put(incident, replace(event, actor=actor))
    ctx.decide("resolve", incident.fingerprint, incident.id, reason=reason)
    for child in ctx.ledger.children(incident.id):
        if child.is_open:
            freed = replace(child, parent_id=None, caused_by=(),
                            held_until=ctx.now + ctx.policy.hold_down,
                            due_at=ctx.now + ctx.policy.hold_down, version=child.version + 1)
            ctx.ledger.put(freed, ctx.event(freed, "detached", parent=incident.id))
            ctx.decide("detach", freed.fingerprint, freed.id, parent=incident.id)
            ctx.touch(freed.id)
    return incident


def _labels(signal: Signal) -> dict[str, str]:
    labels = dict(signal.rule.labels)
    observed = dict(signal.labels)
    labels.update((k, observed.get(k, "")) for k in signal.rule.failure_mode)
    return labels


def quiet_flapping(ctx: Evaluation, incident: Incident) -> bool:
    """Tick: a flapping incident with no failure seen for a whole flap window resolves.
    (`last_seen` is the last failing observation: clears do not move it.)"""
    if not incident.flapping or ctx.now - incident.last_seen < ctx.policy.flap_window:
        return False
    resolve(ctx, incident, ctx.now, incident.value, reason="quiet after flapping")
    return True
