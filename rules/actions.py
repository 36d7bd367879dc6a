"""Operator actions on incidents: acknowledge, assign, comment, resolve, close, reopen.

Each action is one write transaction: the incident is read (and locked), its
`version` compared with the version the operator last saw, the change, its timeline
event (actor = the operator's token name) and its audit record written together,
and `version` moves on by one — so two operators cannot overwrite each other.

Lifecycle (ITIL-like)::

    new ──acknowledge──► acknowledged ──assign(assignee)──► in_progress
     │  └───────────assign(assignee)──────────────────────────┘ │
     └──────────────── resolve (from any open state) ───────────┴──► resolved ─close─► closed
                                              reopened ◄──reopen──┘

`reopened` behaves like `new`. Closed is final. Comments are allowed in every state;
assigning only while open. Anything else raises `IllegalTransition`.

Notifications: acknowledge, resolve and reopen by an operator are queued for the
incident's receivers whenever they heard the incident open (`notified`); maintenance
windows never hold them back — an operator did this on purpose. A change reported by
a ticketing system (`origin`, see `rules.notify.sync`) is not echoed back to it.

Operator resolve while the condition still holds: the incident resolves, and the
rule's pending timer for its fingerprint is pushed to one reopen window after the
resolve. Failing observations inside that window change nothing — no reopen, no new
incident. An observation where the condition no longer holds cancels the hold-off,
so a later failure reopens the incident within the reopen window as usual. If the
condition is still failing when the hold-off ends, the next failing observation
opens a *new* incident (the previous one stays resolved: the fix did not hold).
Absence rules need no hold-off: they fire again only after data came back.
An operator reopen lifts the hold-off and hands the incident back to the engine:
the next observation where the condition no longer holds resolves it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cmdb.records import Incident, IncidentEvent, RuleState
from cmdb.store import AuditRecord, GraphStore, WriteTx
from rules.book import RuleBook
from rules.context import Evaluation, Policy
from rules.errors import RulesError
from rules.ledger import TxLedger
from rules.stages.lifecycle import resolve
from rules.stages.notify import next_due, send
from rules.view import StoreGraphView

OPEN = frozenset({"new", "acknowledged", "in_progress", "reopened"})
# Past the reopen window, so a failure still holding then opens a new incident.
_HOLD_OFF_MARGIN = timedelta(microseconds=1)


class ActionError(RulesError):
    """Base of the errors an incident action answers with."""


class IncidentNotFound(ActionError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(f"no incident with id {incident_id!r}")


class StaleVersion(ActionError):
    """The incident changed since the operator read it."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"the incident is at version {current}, not {expected}; "
                         "read it again and retry")
        self.current = current


class IllegalTransition(ActionError):
    """The action does not apply to the incident's state."""

    def __init__(self, action: str, state: str, reason: str) -> None:
        super().__init__(f"cannot {action} an incident that is {state}: {reason}")
        self.action, self.state = action, state


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: the token's name (recorded as the timeline actor) and role."""

    name: str
    role: str


Change = Callable[[Evaluation, Incident], Incident]


class IncidentActions:
    """The operator actions on `store`; `policy` supplies hold-down and reopen window
    (and routing, for the notifications)."""

    def __init__(self, store: GraphStore, rules: RuleBook, clock: Callable[[], datetime],
                 policy: Callable[[], Policy] = Policy) -> None:
        self._store, self._rules, self._clock, self._policy = store, rules, clock, policy

    def acknowledge(self, incident_id: str, version: int, actor: Actor,
                    note: str | None = None, origin: str | None = None) -> Incident:
        """`origin`: the receiver the change came from (two-way sync), not told of it."""
        def change(ctx: Evaluation, incident: Incident) -> Incident:
            _require(incident, "acknowledge", {"new", "reopened"})
            updated = _bump(incident, state="acknowledged",
                            acknowledged_at=incident.acknowledged_at or ctx.now)
            ctx.ledger.put(updated, _event(ctx, updated, "acknowledged", actor, note=note))
            return _tell(ctx, updated, "acknowledged", origin)

        return self._act(incident_id, version, actor, "acknowledge", change, note=note)

    def assign(self, incident_id: str, version: int, actor: Actor, assignee: str | None,
               group: str | None) -> Incident:
        """Set the assignee and/or assignment group; naming an assignee takes the
        incident into work (`in_progress`, acknowledged if it was not yet)."""
        def change(ctx: Evaluation, incident: Incident) -> Incident:
            _require(incident, "assign", OPEN)
            state = "in_progress" if assignee is not None else incident.state
            updated = _bump(
                incident, state=state, assignee=incident.assignee if assignee is None
                else assignee, assignment_group=group or incident.assignment_group,
                acknowledged_at=incident.acknowledged_at or (
                    ctx.now if state == "in_progress" else None))
            ctx.ledger.put(updated, _event(ctx, updated, "assigned", actor, assignee=assignee,
                                           group=group, was=[incident.assignee,
                                                             incident.assignment_group]))
            return updated

        return self._act(incident_id, version, actor, "assign", change, assignee=assignee,
                         group=group)

    def comment(self, incident_id: str, version: int, actor: Actor, text: str) -> Incident:
        def change(ctx: Evaluation, incident: Incident) -> Incident:
            updated = _bump(incident)
            ctx.ledger.put(updated, _event(ctx, updated, "commented", actor, text=text))
            return updated

        return self._act(incident_id, version, actor, "comment", change)

    def resolve(self, incident_id: str, version: int, actor: Actor,
                note: str | None = None, origin: str | None = None) -> Incident:
        """`origin`: the receiver the change came from (two-way sync), not told of it."""
        def change(ctx: Evaluation, incident: Incident) -> Incident:
            _require(incident, "resolve", OPEN)
            resolved = resolve(ctx, incident, ctx.now, incident.value,
                               reason=note or "resolved by operator", actor=actor.name)
            self._hold_off(ctx, resolved)
            return _tell(ctx, resolved, "resolved", origin)

        return self._act(incident_id, version, actor, "resolve", change, note=note)

    def close(self, incident_id: str, version: int, actor: Actor,
              note: str | None = None) -> Incident:
        def change(ctx: Evaluation, incident: Incident) -> Incident:
            if incident.state != "resolved":
                reason = ("closed is final" if incident.state == "closed"
                          else "resolve it first")
                raise IllegalTransition("close", incident.state, reason)
            updated = _bump(incident, state="closed", closed_at=ctx.now)
            ctx.ledger.put(updated, _event(ctx, updated, "closed", actor, note=note))
            return updated

        return self._act(incident_id, version, actor, "close", change, note=note)

    def reopen(self, incident_id: str, version: int, actor: Actor,
               note: str | None = None) -> Incident:
        def change(ctx: Evaluation, incident: Incident) -> Incident:
            if incident.state != "resolved":
                reason = ("closed is final; a new failure opens a new incident"
                          if incident.state == "closed" else "it is still open")
                raise IllegalTransition("reopen", incident.state, reason)
            other = ctx.ledger.open_incident(incident.fingerprint)
            if other is not None:
                raise IllegalTransition("reopen", incident.state,
                                        f"incident {other.id} is open for the same failure")
            updated = _bump(incident, state="reopened", resolved_at=None,
                            reopen_count=incident.reopen_count + 1)
            ctx.ledger.put(updated, _event(ctx, updated, "reopened", actor, note=note))
            self._lift_hold_off(ctx, updated)
            return _tell(ctx, updated, "reopened")

        return self._act(incident_id, version, actor, "reopen", change, note=note)

    def _act(self, incident_id: str, version: int, actor: Actor, action: str,
             change: Change, **detail: object) -> Incident:
        now = self._clock()
        policy = self._policy()

        def work(tx: WriteTx) -> Incident:
            ledger = TxLedger(tx)
            current = tx.incidents_by_id([incident_id]).get(incident_id)
            if current is None:
                raise IncidentNotFound(incident_id)
            if current.version != version:
                raise StaleVersion(version, current.version)
            ledger.remember(current)
            ctx = Evaluation(self._rules.rules, StoreGraphView(self._store), ledger, policy,
                             now)
            change(ctx, current)
            for changed in list(ledger.changes.incidents.values()):
                if changed.is_open and changed.id not in ledger.changes.new_incidents:
                    ledger.put(replace(changed, due_at=next_due(ctx, changed)))
            result = ledger.changes.incidents[incident_id]
            tx.add_audit([AuditRecord(now, actor.name, actor.role, f"incident.{action}",
                                      incident_id, {"version": result.version, **{
                                          k: v for k, v in detail.items() if v is not None}})])
            ledger.flush()
            return result

        return self._store.write(work)

    def _rule_kind(self, name: str) -> str | None:
        return next((r.kind for r in self._rules.rules if r.name == name), None)

    def _hold_off(self, ctx: Evaluation, incident: Incident) -> None:
        if self._rule_kind(incident.rule) not in ("threshold", "state"):
            return
        state = ctx.ledger.rule_state(incident.fingerprint)
        until = ctx.now + ctx.policy.reopen_window + _HOLD_OFF_MARGIN
        data = {**(state.data if state else {}), "pending_since": until.isoformat()}
        ctx.ledger.put_state(RuleState(incident.fingerprint, incident.rule, incident.ci_id,
                                       data, state.due_at if state else None))

    def _lift_hold_off(self, ctx: Evaluation, incident: Incident) -> None:
        state = ctx.ledger.rule_state(incident.fingerprint)
        pending = state.data.get("pending_since") if state else None
        if state is None or not isinstance(pending, str):
            return
        if datetime.fromisoformat(pending) > ctx.now:
            data = {k: v for k, v in state.data.items() if k != "pending_since"}
            ctx.ledger.put_state(replace(state, data=data))


def _require(incident: Incident, action: str, states: frozenset[str] | set[str]) -> None:
    if incident.state not in states:
        reasons = {"resolved": "it is already resolved", "closed": "closed is final",
                   "acknowledged": "it is already acknowledged",
                   "in_progress": "it is already being worked on"}
        raise IllegalTransition(action, incident.state,
                                reasons.get(incident.state, "not allowed"))


def _bump(incident: Incident, **changes: object) -> Incident:
    return replace(incident, version=incident.version + 1, **changes)  # type: ignore[arg-type]


def _event(ctx: Evaluation, incident: Incident, kind: str, actor: Actor,
           **detail: object) -> IncidentEvent:
    return IncidentEvent(incident.id, ctx.now, kind, actor.name,
                         {k: v for k, v in detail.items() if v is not None})


def _tell(ctx: Evaluation, incident: Incident, event: str,
          origin: str | None = None) -> Incident:
    """Queue `event` for the receivers that heard the incident open, never suppressed,
    except `origin`: the system the change came from knows it already (no echo)."""
    targets = tuple(r for r in incident.receivers if r != origin)
    if incident.notified and targets:
        return send(ctx, incident, event, targets)
    return incident
