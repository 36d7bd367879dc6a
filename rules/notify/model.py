"""What the dispatcher, the delivery-state stores and the receivers pass around:
plain frozen dataclasses, no I/O.

`IncidentSnapshot` is the typed view of an outbox payload (`rules.stages.notify.
payload`): `{"event", "incident": {...}, "ci": {id, name, class}}`. Everything but the
incident's id and fingerprint is read with a default (and `ci` may also sit inside
`incident`), so payloads of older and newer rules-engine versions both deliver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from rules.notify.errors import PermanentDeliveryError

DeliveryState = Literal["pending", "delivered", "dead", "discarded"]


def stamp(at: datetime) -> str:
    """A UTC time as fixed-width RFC 3339 text, so stored times sort as text."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class CIRef:
    """The CI an incident is about, as far as the payload names it."""

    id: str
    name: str
    ci_class: str | None = None


@dataclass(frozen=True, slots=True)
class IncidentSnapshot:
    """The incident as it was when the notification was decided."""

    id: str
    fingerprint: str
    rule: str
    ci: CIRef
    state: str
    severity: str
    summary: str
    opened_at: str
    resolved_at: str | None = None
    occurrences: int = 1
    value: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    priority: int | None = None
    urgency: str | None = None
    impact: str | None = None
    description: str | None = None
    assignment_group: str | None = None

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> IncidentSnapshot:
        """Parse a payload; a payload without the essentials is a permanent failure."""
        raw = payload.get("incident")
        if not isinstance(raw, Mapping):
            raise PermanentDeliveryError("malformed payload: no 'incident' object")
        incident: Mapping[str, object] = raw
        ci_id = _text(incident, "ci_id") or ""
        ci_raw = payload.get("ci", incident.get("ci"))
        ci = CIRef(ci_id, ci_id)
        if isinstance(ci_raw, Mapping):
            ci_id = str(ci_raw.get("id") or ci_id)
            ci = CIRef(ci_id, str(ci_raw.get("name") or ci_id), _opt(ci_raw.get("class")))
        return cls(
            id=_required(incident, "id"),
            fingerprint=_required(incident, "fingerprint"),
            rule=_text(incident, "rule") or "",
            ci=ci,
            state=_text(incident, "state") or "open",
            severity=_text(incident, "severity") or "warning",
            summary=_text(incident, "summary") or "",
            opened_at=_text(incident, "opened_at") or "",
            resolved_at=_text(incident, "resolved_at"),
            occurrences=_int(incident.get("occurrences")) or 1,
            value=_float(incident.get("value")),
            labels={str(k): str(v) for k, v in _mapping(incident.get("labels")).items()},
            priority=_int(incident.get("priority")),
            urgency=_text(incident, "urgency"),
            impact=_text(incident, "impact"),
            description=_text(incident, "description"),
            assignment_group=_text(incident, "assignment_group"),
        )


def _required(raw: Mapping[str, object], key: str) -> str:
    value = _text(raw, key)
    if not value:
        raise PermanentDeliveryError(f"malformed payload: incident.{key} is missing")
    return value


def _text(raw: Mapping[str, object], key: str) -> str | None:
    return _opt(raw.get(key))


def _opt(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _int(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _float(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _mapping(value: object) -> Mapping[object, object]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class TicketRef:
    """Where an incident lives in an external system: ServiceNow sys_id + number, Jira
    issue id + key. One per (incident, receiver)."""

    incident_id: str
    receiver: str
    external_id: str
    external_key: str | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """One claimed outbox entry, as a receiver gets it. `attempt` counts from 1;
    `ticket` is what an earlier delivery for the incident made at this receiver."""

    outbox_id: str
    seq: int
    incident_id: str
    receiver: str
    event: str
    created_at: datetime
    payload: dict[str, object]
    attempt: int = 1
    ticket: TicketRef | None = None

    def incident(self) -> IncidentSnapshot:
        return IncidentSnapshot.from_payload(self.payload)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A receiver's acceptance: the status it answered, and the ticket it made or found
    (to be stored in the same transaction that marks the entry delivered)."""

    status: int | None = None
    ticket: TicketRef | None = None


@dataclass(frozen=True, slots=True)
class Delivered:
    """The receiver accepted the notification (`status` as it answered); `ticket` is
    stored with it."""

    outbox_id: str
    at: datetime
    status: int | None = None
    ticket: TicketRef | None = None


@dataclass(frozen=True, slots=True)
class RetryLater:
    """The attempt failed transiently; try again at `next_attempt_at`."""

    outbox_id: str
    at: datetime
    next_attempt_at: datetime
    error: str
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Parked:
    """The attempt failed for good: a dead letter with the response status and body."""

    outbox_id: str
    at: datetime
    error: str
    status: int | None = None
    body: str | None = None


Outcome = Delivered | RetryLater | Parked


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """Store-wide figures for metrics: entries by state, and failed attempts so far."""

    pending: int = 0
    delivered: int = 0
    dead: int = 0
    discarded: int = 0
    failures: int = 0


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An entry parked after a permanent failure, with what the receiver answered.
    Later entries of the same incident and receiver wait behind it."""

    outbox_id: str
    seq: int
    incident_id: str
    receiver: str
    event: str
    created_at: datetime
    attempts: int
    failed_at: datetime
    error: str
    status: int | None
    body: str | None
