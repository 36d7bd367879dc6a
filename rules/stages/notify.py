"""Stages: prioritise, route and notify — what the service desk hears, and when.

Nothing is notified during an incident's hold-down. When it ends, a root incident
gets its priority (impact from the CMDB x urgency from the rule), its route
(receivers and assignment group) and an `opened` notification; a child gets nothing,
its root speaks for it. A resolve is notified only to those who heard the open.
Maintenance windows suppress opens, reminders, escalations and priority changes,
never resolves. Flapping incidents are not re-notified. Long-open incidents are
reminded every repeat interval; SLA warnings and breaches escalate.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from cmdb.records import Incident
from cmdb.store import OutboxEntry
from rules.context import Evaluation

# How often an incident held back by a maintenance window looks again.
SUPPRESSED_RECHECK = timedelta(seconds=60)


def payload(ctx: Evaluation, incident: Incident, event: str) -> dict[str, object]:
    """What a receiver is told: the event and a snapshot of the incident then."""
    ci = ctx.view.ci(incident.ci_id)
    return {
        "event": event,
        "incident": {
            "id": incident.id, "fingerprint": incident.fingerprint, "rule": incident.rule,
            "ci_id": incident.ci_id, "state": incident.state, "severity": incident.severity,
            "urgency": incident.urgency, "priority": incident.priority,
            "priority_reasons": list(incident.priority_reasons),
            "summary": incident.summary, "description": incident.description,
            "opened_at": incident.opened_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "occurrences": incident.occurrences, "value": incident.value,
            "labels": dict(incident.labels), "assignment_group": incident.assignment_group,
            "flapping": incident.flapping,
            "children": len(ctx.ledger.children(incident.id)),
        },
        "ci": {"id": incident.ci_id, "name": ci.name if ci else None,
               "class": ci.ci_class if ci else None},
    }


def send(ctx: Evaluation, incident: Incident, event: str,
         receivers: tuple[str, ...] | None = None) -> Incident:
    """Queue `event` for `receivers` (default: the incident's own) in the outbox."""
    targets = incident.receivers if receivers is None else receivers
    body = payload(ctx, incident, event)
    ctx.ledger.notify([OutboxEntry(str(uuid.uuid4()), incident.id, r, event, ctx.now, body)
                       for r in targets])
    ctx.decide("notify", incident.fingerprint, incident.id, notification=event,
               receivers=targets)
    updated = replace(incident, last_notified_at=ctx.now, notified=incident.notified or (
        event in ("opened", "reopened")))
    ctx.ledger.put(updated, ctx.event(updated, "notified", notification=event,
                                      receivers=list(targets)))
    return updated


def _suppressed(ctx: Evaluation, incident: Incident) -> str | None:
    ci = ctx.view.ci(incident.ci_id)
    upstream = frozenset(ctx.view.upstream(incident.ci_id).depths)
    return ctx.policy.maintenance(incident, ci, upstream, ctx.now)


SLA_RAISE = "raised on SLA"


def prioritise(ctx: Evaluation, incident: Incident) -> Incident:
    """Priority from impact x urgency; raises made on SLA breaches stay as a floor."""
    facts = ctx.view.impact_facts(incident.ci_id)
    priority = ctx.policy.priority(incident, facts)
    raises = tuple(r for r in incident.priority_reasons if r.startswith(SLA_RAISE))
    level = max(1, priority.level - len(raises))
    reasons = (*priority.reasons, *raises)
    if level == incident.priority and reasons == incident.priority_reasons:
        return incident
    updated = replace(incident, priority=level, priority_reasons=reasons)
    ctx.ledger.put(updated, ctx.event(updated, "prioritised", priority=priority.level,
                                      impact=priority.impact, reasons=list(priority.reasons)))
    ctx.decide("priority", incident.fingerprint, incident.id, priority=priority.level,
               was=incident.priority)
    return updated


def release(ctx: Evaluation, incident: Incident) -> None:
    """The hold-down is over (or there was none): a root is prioritised, routed and,
    unless in maintenance or flapping, notified."""
    incident = replace(incident, held_until=None)
    ctx.ledger.put(incident)
    ctx.decide("release", incident.fingerprint, incident.id, child=incident.parent_id)
    if incident.parent_id is not None:
        return
    incident = prioritise(ctx, incident)
    route = ctx.policy.route(incident, ctx.view.ci(incident.ci_id))
    incident = replace(incident, receivers=route.receivers,
                       assignment_group=incident.assignment_group or route.assignment_group)
    ctx.ledger.put(incident, ctx.event(incident, "routed", receivers=list(route.receivers),
                                       group=route.assignment_group, routes=list(route.routes)))
    event = "reopened" if incident.notified else "opened"
    if incident.flapping and incident.notified:
        ctx.decide("suppress", incident.fingerprint, incident.id, reason="flapping")
        return
    window = _suppressed(ctx, incident)
    if window is not None:
        suppressed = replace(incident, suppressed_by=window)
        ctx.ledger.put(suppressed, ctx.event(suppressed, "suppressed", window=window,
                                             notification=event))
        ctx.decide("suppress", incident.fingerprint, incident.id, reason="maintenance",
                   window=window)
        return
    send(ctx, replace(incident, suppressed_by=None), event)


def notify(ctx: Evaluation) -> None:
    """After lifecycle and correlation: release what is due, tell resolves, and
    re-prioritise roots that gained children after they were notified."""
    resolved = {d.incident_id for d in ctx.decisions
                if d.kind == "resolve" and d.incident_id is not None}
    adopted = {str(d.get("parent")) for d in ctx.decisions if d.kind == "attach"}
    for incident_id in list(dict.fromkeys([*ctx.touched, *resolved, *adopted])):
        incident = ctx.ledger.incident(incident_id) or ctx.ledger.incidents_by_id(
            [incident_id]).get(incident_id)
        if incident is None:
            continue
        if incident_id in resolved:
            if incident.notified and incident.receivers:
                send(ctx, incident, "resolved")
        elif incident.is_open and incident.held_until is not None:
            if incident.held_until <= ctx.now:
                release(ctx, incident)
        elif incident.is_open and incident_id in adopted and incident.notified:
            before = incident.priority
            updated = prioritise(ctx, incident)
            if updated.priority != before and _suppressed(ctx, updated) is None:
                priority_changed(ctx, updated)


def due(ctx: Evaluation, incident: Incident) -> None:
    """Tick: an incident's `due_at` came — release, re-check suppression, escalate
    SLA breaches, remind."""
    if incident.held_until is not None and incident.held_until <= ctx.now:
        release(ctx, incident)
        return
    if incident.suppressed_by is not None and incident.parent_id is None:
        if _suppressed(ctx, incident) is None and not incident.notified:
            send(ctx, replace(incident, suppressed_by=None), "opened")
        return
    for checkpoint in ctx.policy.sla(incident, ctx.now):
        incident = _escalate(ctx, incident, checkpoint.key, checkpoint.escalate_to,
                             checkpoint.raise_priority, f"{checkpoint.kind}:{checkpoint.target}")
    reminder_due = incident.last_notified_at is not None and (
        ctx.now - incident.last_notified_at >= ctx.policy.repeat_interval)
    if (reminder_due and incident.notified and incident.parent_id is None
            and not incident.flapping and incident.state != "acknowledged"
            and _suppressed(ctx, incident) is None):
        send(ctx, incident, "reminder")


def _escalate(ctx: Evaluation, incident: Incident, key: str, receivers: tuple[str, ...],
              raise_priority: bool, what: str) -> Incident:
    updated = replace(incident, sla_emitted=(*incident.sla_emitted, key))
    if raise_priority and updated.priority > 1:
        updated = replace(updated, priority=updated.priority - 1,
                          priority_reasons=(*updated.priority_reasons, f"{SLA_RAISE} {what}"))
    ctx.ledger.put(updated, ctx.event(updated, "sla", checkpoint=what,
                                      escalate_to=list(receivers)))
    ctx.decide("escalate", incident.fingerprint, incident.id, checkpoint=what,
               receivers=receivers)
    if updated.parent_id is None and _suppressed(ctx, updated) is None:
        # A warning with no escalation target goes to the incident's own receivers.
        updated = send(ctx, updated, "escalated", receivers or None)
        if updated.priority != incident.priority and updated.notified:
            updated = priority_changed(ctx, updated)
    return updated


def priority_changed(ctx: Evaluation, incident: Incident) -> Incident:
    """Tell the change, routing again: a higher priority may page more receivers."""
    route = ctx.policy.route(incident, ctx.view.ci(incident.ci_id))
    added = tuple(r for r in route.receivers if r not in incident.receivers)
    updated = replace(incident, receivers=(*incident.receivers, *added))
    if added:
        ctx.ledger.put(updated, ctx.event(updated, "routed", receivers=list(added),
                                          routes=list(route.routes)))
        updated = send(ctx, updated, "opened", added)
    return send(ctx, updated, "priority_changed", incident.receivers)


def next_due(ctx: Evaluation, incident: Incident) -> datetime | None:
    """When the engine must next look at an open incident without new data."""
    candidates: list[datetime] = []
    if incident.held_until is not None:
        candidates.append(incident.held_until)
    if incident.flapping:
        candidates.append(incident.last_seen + ctx.policy.flap_window)
    if incident.suppressed_by is not None and not incident.notified:
        candidates.append(ctx.now + SUPPRESSED_RECHECK)
    if incident.notified and incident.last_notified_at is not None:
        candidates.append(incident.last_notified_at + ctx.policy.repeat_interval)
    sla = ctx.policy.next_sla_check(incident)
    if sla is not None:
        candidates.append(sla)
    return min(candidates) if candidates else None
