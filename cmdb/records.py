"""The records the stores keep and hand back. Plain frozen dataclasses, store-neutral."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Literal, TypeVar

T = TypeVar("T")

CIStatus = Literal["active", "stale", "retired"]
IncidentState = Literal["new", "acknowledged", "in_progress", "reopened", "resolved", "closed"]
OPEN_STATES: frozenset[str] = frozenset({"new", "acknowledged", "in_progress", "reopened"})


@dataclass(frozen=True, slots=True)
class ConfigurationItem:
    """A CI as stored: its class, display name, merged attributes and where they came from."""

    id: str
    ci_class: str
    name: str
    attributes: dict[str, object]
    attribute_sources: dict[str, str]
    sources: dict[str, datetime]
    status: CIStatus
    created_at: datetime
    updated_at: datetime
    last_seen: datetime
    identity_keys: tuple[str, ...] = ()


PropertyValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Relationship:
    """`from_id` -[type]-> `to_id`, with the declared properties it carries (port,
    redundancy group) and when each source last saw it."""

    from_id: str
    type: str
    to_id: str
    properties: dict[str, PropertyValue] = field(default_factory=dict)
    sources: dict[str, datetime] = field(default_factory=dict)
    last_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class AttributeChange:
    """One recorded change of one attribute of one CI."""

    ci_id: str
    attribute: str
    old: object
    new: object
    source: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReconcileConflict:
    """Evidence from one payload that named two different CIs; recorded, not merged."""

    source: str
    chosen_ci_id: str
    other_ci_id: str
    key: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What reconciling one inventory did."""

    ci_id: str
    created: bool
    changes: tuple[AttributeChange, ...] = ()
    conflicts: tuple[ReconcileConflict, ...] = ()
    ci: ConfigurationItem | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident as stored. While it is open (`new`, `acknowledged`, `in_progress`,
    `reopened`) the store holds its fingerprint as the open fingerprint, which is what
    enforces one open incident per fingerprint across writers.

    `parent_id` names the root-cause incident this one is attached to (then it is not
    ticketed itself) and `caused_by` the path from that root's CI to this CI.
    `held_until` is the end of the root-cause hold-down: nothing is notified before it.
    `due_at` is when the engine must look at it again without new observations
    (hold-down end, next SLA checkpoint, reminder).
    """

    id: str
    fingerprint: str
    rule: str
    ci_id: str
    state: IncidentState
    severity: str
    summary: str
    opened_at: datetime
    last_seen: datetime
    occurrences: int
    resolved_at: datetime | None = None
    value: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    description: str = ""
    urgency: int = 3
    priority: int = 5
    priority_reasons: tuple[str, ...] = ()
    parent_id: str | None = None
    caused_by: tuple[tuple[str, str], ...] = ()
    flapping: bool = False
    held_until: datetime | None = None
    notified: bool = False
    last_notified_at: datetime | None = None
    suppressed_by: str | None = None
    assignment_group: str | None = None
    assignee: str | None = None
    receivers: tuple[str, ...] = ()
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_count: int = 0
    sla_emitted: tuple[str, ...] = ()
    due_at: datetime | None = None
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """One entry of an incident's timeline: a transition, an action, a notification."""

    incident_id: str
    at: datetime
    kind: str
    actor: str
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuleState:
    """What the engine remembers of one fingerprint between evaluations (pending and
    clearing timers, recent transitions, last data), and when it must look again."""

    fingerprint: str
    rule: str
    ci_id: str
    data: dict[str, object]
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token as stored: only its SHA-256 hash, never the token itself."""

    token_hash: str
    role: str
    name: str
    created_at: datetime
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next one (None at the end)."""

    items: list[T]
    next_cursor: str | None
