"""Two-way sync: what a ticketing system reports back (acknowledged, resolved, closed,
commented) applied to our incident through the operator actions, with the actor
`receiver:<name>` and without echoing the change back to that receiver.

- Authentication: the receiver's `inbound_secret_env` secret as `Authorization:
  Bearer <secret>`; a generic webhook may instead sign with Standard Webhooks
  (`webhook-id`, `webhook-timestamp` within 5 minutes, `webhook-signature`).
- Finding the incident, by what the dispatcher told the system:
  ServiceNow `correlation_id` (our id; the `sys_id` must be the stored ticket ref),
  Jira the `opsgraph-<id>` label (the `issue.key` must be the stored ref),
  PagerDuty the V3 webhook's `event.data.incident_key` (our fingerprint), a generic
  webhook `incident_id`. An incident never routed to the receiver is unknown to it.
- Idempotent: a change the incident already shows (resolved twice, the comment
  already in the timeline) is a no-op, so vendor retries and the vendor echoing our
  own update back change nothing.

    NotifyError
    └── SyncError               base of inbound sync failures
        ├── InboundUnauthorized     no or wrong secret / signature (HTTP 401)
        ├── MalformedInbound        a body the receiver type cannot mean; `field`
        │                           names what is wrong (HTTP 422)
        └── UnknownTicket           no incident of ours behind the ticket (HTTP 404)
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cmdb.records import Incident
from cmdb.store import GraphStore, WriteTx
from rules.actions import Actor, IncidentActions, StaleVersion
from rules.notify import jira, pagerduty, servicenow, webhook
from rules.notify.errors import NotifyError
from rules.notify.settings import ReceiverSettings
from rules.notify.state import DeliveryStore

ACTIONS = ("acknowledge", "resolve", "close", "comment")
SIGNATURE_TOLERANCE = 300  # seconds, as Standard Webhooks recommends
# ServiceNow incident states: 2 In Progress, 6 Resolved, 7 Closed, 8 Canceled.
SERVICENOW_STATES = {"2": ("acknowledge",), "6": ("resolve",), "7": ("resolve", "close"),
                     "8": ("resolve",)}
PAGERDUTY_EVENTS = {"incident.acknowledged": ("acknowledge",),
                    "incident.resolved": ("resolve",)}
_OPEN = frozenset({"new", "acknowledged", "in_progress", "reopened"})
_RETRIES = 3


class SyncError(NotifyError):
    """Base of inbound sync failures."""


class InboundUnauthorized(SyncError):
    pass


class MalformedInbound(SyncError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


class UnknownTicket(SyncError):
    pass


@dataclass(frozen=True, slots=True)
class InboundChange:
    """What a system reported: the incident by id or fingerprint, the ticket it names
    (checked against the stored ref), and the actions in order."""

    actions: tuple[str, ...]
    incident_id: str | None = None
    fingerprint: str | None = None
    ticket: str | None = None
    comment: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class SyncResult:
    incident: Incident
    applied: tuple[str, ...]


def authenticate(receiver: ReceiverSettings, headers: Mapping[str, str], body: bytes,
                 now: Callable[[], float] = time.time) -> None:
    """Raise `InboundUnauthorized` unless the request carries the receiver's secret."""
    if receiver.inbound_secret is None:
        raise InboundUnauthorized(f"receiver {receiver.name} takes no inbound sync: "
                                  "set inbound_secret_env")
    secret = receiver.inbound_secret.reveal()
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                          secret.encode()):
        return
    if isinstance(receiver, webhook.WebhookSettings) and "webhook-signature" in headers:
        _check_signature(secret, headers, body, now())
        return
    raise InboundUnauthorized("missing or wrong inbound secret")


def _check_signature(secret: str, headers: Mapping[str, str], body: bytes,
                     now: float) -> None:
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit() or abs(now - int(stamp)) > SIGNATURE_TOLERANCE:
        raise InboundUnauthorized("webhook-id or webhook-timestamp missing or too old")
    key = webhook.signing_key(secret) or secret.encode()
    expected = webhook.sign(key, msg_id, int(stamp), body).encode()
    if not any(hmac.compare_digest(expected, given.encode())
               for given in headers["webhook-signature"].split()):
        raise InboundUnauthorized("webhook-signature does not match")


def inbound_change(receiver: ReceiverSettings, body: object) -> InboundChange:
    """The change a receiver's system reports in `body`; `MalformedInbound` naming the
    field otherwise."""
    if not isinstance(body, Mapping):
        raise MalformedInbound("body", "must be a JSON object")
    match receiver:
        case servicenow.ServiceNowSettings():
            return _servicenow(body)
        case jira.JiraSettings():
            return _jira(body)
        case pagerduty.PagerDutySettings():
            return _pagerduty(body)
        case webhook.WebhookSettings():
            return _generic(body)
    raise MalformedInbound("receiver", f"{type(receiver).__name__} takes no inbound sync")


def _servicenow(body: Mapping[str, Any]) -> InboundChange:
    state = str(_field(body, "state", (str, int)))
    comment = _optional(body, "comments")
    actions = SERVICENOW_STATES.get(state, ())
    return InboundChange(actions + (("comment",) if comment else ()),
                         incident_id=_field(body, "correlation_id", str),
                         ticket=_field(body, "sys_id", str), comment=comment,
                         note=_optional(body, "close_notes"))


def _jira(body: Mapping[str, Any]) -> InboundChange:
    event = _field(body, "webhookEvent", str)
    issue = _field(body, "issue", dict)
    key = _field(issue, "key", str, "issue.key")
    fields = _field(issue, "fields", dict, "issue.fields")
    labels = _field(fields, "labels", list, "issue.fields.labels")
    ids = [str(label)[len("opsgraph-"):] for label in labels
           if str(label).startswith("opsgraph-")]
    if not ids:
        raise UnknownTicket(f"issue {key} carries no opsgraph-<incident id> label")
    if event == "comment_created":
        text = _field(_field(body, "comment", dict), "body", str, "comment.body")
        return InboundChange(("comment",), incident_id=ids[0], ticket=key, comment=text)
    category = (((fields.get("status") or {}).get("statusCategory") or {}).get("key"))
    actions = ("resolve",) if event == "jira:issue_updated" and category == "done" else ()
    return InboundChange(actions, incident_id=ids[0], ticket=key)


def _pagerduty(body: Mapping[str, Any]) -> InboundChange:
    event = _field(body, "event", dict)
    kind = _field(event, "event_type", str, "event.event_type")
    data = _field(event, "data", dict, "event.data")
    key = _field(data, "incident_key", str, "event.data.incident_key")
    return InboundChange(PAGERDUTY_EVENTS.get(kind, ()), fingerprint=key)


def _generic(body: Mapping[str, Any]) -> InboundChange:
    action = _field(body, "action", str)
    if action not in ACTIONS:
        raise MalformedInbound("action", f"must be one of {', '.join(ACTIONS)}")
    comment = _optional(body, "comment")
    if action == "comment" and not comment:
        raise MalformedInbound("comment", "is required for action comment")
    return InboundChange((action,), incident_id=_field(body, "incident_id", str),
                         comment=comment, note=comment if action != "comment" else None)


def _field(raw: Mapping[str, Any], key: str, kinds: type | tuple[type, ...],
           name: str | None = None) -> Any:
    value = raw.get(key)
    if not isinstance(value, kinds) or value == "":
        raise MalformedInbound(name or key, "is missing or of the wrong type")
    return value


def _optional(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedInbound(key, "must be a string")
    return value or None


class InboundSync:
    """Applies inbound changes to incidents in `store` through `actions`."""

    def __init__(self, store: GraphStore, actions: IncidentActions,
                 deliveries: DeliveryStore) -> None:
        self._store, self._actions, self._deliveries = store, actions, deliveries

    def apply(self, receiver: str, change: InboundChange) -> SyncResult:
        incident = self._find(receiver, change)
        actor = Actor(f"receiver:{receiver}", "integration")
        applied: list[str] = []
        for action in change.actions:
            for attempt in range(_RETRIES):
                current = self._store.get_incident(incident.id) or incident
                if self._already(current, action, change, actor):
                    incident = current
                    break
                try:
                    incident = self._act(current, action, change, actor, receiver)
                except StaleVersion:
                    if attempt == _RETRIES - 1:
                        raise
                    continue
                applied.append(action)
                break
        return SyncResult(self._store.get_incident(incident.id) or incident, tuple(applied))

    def _find(self, receiver: str, change: InboundChange) -> Incident:
        incident: Incident | None = None
        if change.incident_id is not None:
            incident = self._store.get_incident(change.incident_id)
        elif change.fingerprint is not None:
            incident = self._store.write(lambda tx: _by_fingerprint(tx, change.fingerprint))
        if incident is None or receiver not in incident.receivers:
            raise UnknownTicket(f"no incident of receiver {receiver} behind this ticket")
        if change.ticket is not None:
            ref = self._deliveries.ticket_ref(incident.id, receiver)
            if ref is None or change.ticket not in (ref.external_id, ref.external_key):
                raise UnknownTicket(f"ticket {change.ticket} is not the ticket of incident "
                                    f"{incident.id} at {receiver}")
        return incident

    def _already(self, incident: Incident, action: str, change: InboundChange,
                 actor: Actor) -> bool:
        """The incident shows the change already (or is past it)."""
        if action == "acknowledge":
            return incident.state not in ("new", "reopened")
        if action == "resolve":
            return incident.state not in _OPEN
        if action == "close":
            return incident.state == "closed"
        return any(e.kind == "commented" and e.actor == actor.name
                   and e.detail.get("text") == change.comment
                   for e in self._store.incident_events(incident.id))

    def _act(self, incident: Incident, action: str, change: InboundChange, actor: Actor,
             receiver: str) -> Incident:
        actions, version = self._actions, incident.version
        if action == "acknowledge":
            return actions.acknowledge(incident.id, version, actor, change.note,
                                       origin=receiver)
        if action == "resolve":
            return actions.resolve(incident.id, version, actor, change.note, origin=receiver)
        if action == "close":
            return actions.close(incident.id, version, actor, change.note)
        return actions.comment(incident.id, version, actor, change.comment or "")


def _by_fingerprint(tx: WriteTx, fingerprint: str | None) -> Incident | None:
    if fingerprint is None:
        return None
    found = tx.open_incidents([fingerprint]).get(fingerprint)
    return found or tx.last_resolved([fingerprint], datetime.min.replace(tzinfo=UTC)).get(
        fingerprint)
