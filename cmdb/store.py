"""The `GraphStore` protocol: what every CMDB store (SQLite, Neo4j) provides.

Writes go through `GraphStore.write(work)`: `work` receives a `WriteTx` and runs in
one transaction, retried from the start when a concurrent writer took a unique key
first (`UniquenessConflict`). Reconciliation and incident persistence are written
once against `WriteTx`, so both stores share their logic and differ only in storage.
The contract suite in `tests/contract/` runs against every store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from cmdb.records import (
    ApiToken,
    AttributeChange,
    ConfigurationItem,
    Incident,
    IncidentEvent,
    Page,
    ReconcileConflict,
    Relationship,
    RuleState,
)

RelationshipKey = tuple[str, str, str]
"""(from_id, type, to_id): a relationship's identity."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CIQuery:
    """Filters and paging for listing CIs; `cursor` is the last id of the previous page."""

    ci_id: str | None = None
    ci_class: str | None = None
    name_contains: str | None = None
    status: str | None = None
    limit: int = 100
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class IncidentQuery:
    """`state` is a lifecycle state or `open` (any open state); `root_only` leaves out
    incidents attached to a root cause."""

    state: str | None = None
    ci_id: str | None = None
    priority: int | None = None
    assignment_group: str | None = None
    parent_id: str | None = None
    root_only: bool = False
    limit: int = 100
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A notification decided together with an incident change, delivered later: one
    entry per change and receiver; `seq` (assigned by the store) orders them."""

    id: str
    incident_id: str
    receiver: str
    event: str
    created_at: datetime
    payload: dict[str, object]


@dataclass(frozen=True, slots=True)
class ImpactEdge:
    """An impact-carrying relationship as the impact walk needs it, and no more."""

    from_id: str
    type: str
    to_id: str
    redundancy_group: str | None


@dataclass(frozen=True, slots=True)
class CIBrief:
    id: str
    name: str
    ci_class: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One change made through the API or the CLI: who (token name and role), what
    (action and target), when, and what it changed."""

    at: datetime
    actor: str
    role: str
    action: str
    target: str
    detail: dict[str, object] = field(default_factory=dict)

    def row(self) -> dict[str, str]:
        """Flat primitives, as both stores keep them (times in UTC, detail as JSON)."""
        return {"at": self.at.astimezone(UTC).isoformat(), "actor": self.actor,
                "role": self.role, "action": self.action, "target": self.target,
                "detail": json.dumps(self.detail, sort_keys=True, default=str)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AuditRecord:
        return cls(datetime.fromisoformat(row["at"]), row["actor"], row["role"],
                   row["action"], row["target"], json.loads(row["detail"]))


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters and paging for the audit trail, newest first; `cursor` is opaque."""

    actor: str | None = None
    action: str | None = None
    limit: int = 100
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class EstateCounts:
    """What `/metrics` reports of the estate: CIs per (class, status), open incidents
    per priority, and outbox entries ever queued."""

    cis: dict[tuple[str, str], int]
    open_incidents: dict[int, int]
    outbox_entries: int


class WriteTx(Protocol):
    """The primitive operations of one write transaction. Batch-shaped, so that a
    batch of inventories costs a handful of round trips, not a few per CI."""

    def cis_by_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """Identity key -> CI id for the keys that are already owned."""

    def load_cis(self, ids: Sequence[str]) -> dict[str, ConfigurationItem]:
        """Whole CIs, locked for this write (read-merge-write must not lose updates)."""

    def ci_classes(self, ids: Sequence[str]) -> dict[str, str]:
        """The class of each CI that exists, without loading or locking it."""

    def save_cis(self, cis: Sequence[ConfigurationItem]) -> None:
        """Insert or replace these CIs (attributes, sources, status, times)."""

    def attach_keys(self, keys: Sequence[tuple[str, str]]) -> None:
        """Give each (key, ci_id) pair's key to that CI; `UniquenessConflict` if taken."""

    def add_history(self, changes: Sequence[AttributeChange]) -> None: ...

    def add_conflicts(self, conflicts: Sequence[ReconcileConflict]) -> None: ...

    def load_relationships(self, keys: Sequence[RelationshipKey]
                           ) -> dict[RelationshipKey, Relationship]: ...

    def save_relationships(self, relationships: Sequence[Relationship]) -> None:
        """Insert or replace these relationships (properties, sources, last_seen)."""

    def delete_relationships(self, keys: Sequence[RelationshipKey]) -> int: ...

    def cis_last_seen_before(self, cutoff: datetime, status: str) -> list[ConfigurationItem]:
        """CIs in `status` whose `last_seen` is older than `cutoff`."""

    def claim_report(self, report_id: str, agent_id: str, at: datetime) -> bool:
        """Record a report id; False when it was recorded before (a retry)."""

    def open_incidents(self, fingerprints: Sequence[str]) -> dict[str, Incident]:
        """The open incident of each fingerprint that has one, locked for this write."""

    def open_incidents_on(self, ci_ids: Sequence[str]) -> list[Incident]:
        """Open incidents on these CIs, locked for this write."""

    def incidents_by_id(self, ids: Sequence[str]) -> dict[str, Incident]: ...

    def children_of(self, parent_ids: Sequence[str]) -> list[Incident]: ...

    def due_incidents(self, now: datetime, limit: int) -> list[Incident]:
        """Open incidents whose `due_at` has come, oldest first, locked."""

    def last_resolved(self, fingerprints: Sequence[str], since: datetime
                      ) -> dict[str, Incident]:
        """Per fingerprint, the latest incident resolved (not closed) at or after `since`:
        the one a recurrence reopens."""

    def insert_incident(self, incident: Incident) -> None:
        """Store a new open incident; `UniquenessConflict` if its fingerprint is open."""

    def update_incident(self, incident: Incident) -> None:
        """Replace a stored incident's fields (it keeps its id and fingerprint)."""

    def add_incident_events(self, events: Sequence[IncidentEvent]) -> None: ...

    def load_rule_states(self, fingerprints: Sequence[str]) -> dict[str, RuleState]: ...

    def save_rule_states(self, states: Sequence[RuleState]) -> None: ...

    def drop_rule_states(self, fingerprints: Sequence[str]) -> None: ...

    def due_rule_states(self, now: datetime, limit: int) -> list[RuleState]:
        """Rule states whose `due_at` has come (absence deadlines, timers)."""

    def enqueue(self, entries: Sequence[OutboxEntry]) -> None: ...

    def add_audit(self, records: Sequence[AuditRecord]) -> None: ...


class GraphStore(Protocol):
    """A CMDB store. Implementations: `SQLiteStore`, `Neo4jStore`."""

    url: str

    def initialise(self) -> None:
        """Create the schema, unique constraints and indexes (idempotent)."""

    def close(self) -> None: ...

    def ping(self) -> None:
        """Return when the store answers; raise `StoreUnavailable` otherwise."""

    def write(self, work: Callable[[WriteTx], T]) -> T:
        """Run `work` in one write transaction, retrying it on `UniquenessConflict`."""

    def get_ci(self, ci_id: str) -> ConfigurationItem | None: ...

    def get_cis(self, ci_ids: Sequence[str]) -> dict[str, ConfigurationItem]:
        """The CIs that exist among `ci_ids` (identity keys not included)."""

    def ci_for_key(self, key: str) -> str | None: ...

    def list_cis(self, query: CIQuery) -> Page[ConfigurationItem]: ...

    def history(self, ci_id: str) -> list[AttributeChange]: ...

    def relationships(self, ci_id: str) -> list[Relationship]:
        """Every relationship starting or ending at the CI."""

    def impact_edges(self, ci_ids: Sequence[str], upstream: bool) -> list[ImpactEdge]:
        """Impact-carrying relationships ending at (`upstream`) or starting from
        `ci_ids`, in one round trip."""

    def ci_briefs(self, ci_ids: Sequence[str]) -> dict[str, CIBrief]: ...

    def edges_into(self, ci_ids: Sequence[str], types: Sequence[str]) -> list[Relationship]:
        """Relationships of `types` that end at one of `ci_ids` (their dependents)."""

    def edges_out_of(self, ci_ids: Sequence[str], types: Sequence[str]
                     ) -> list[Relationship]:
        """Relationships of `types` that start at one of `ci_ids` (what they rely on)."""

    def conflicts(self) -> list[ReconcileConflict]: ...

    def get_incident(self, incident_id: str) -> Incident | None: ...

    def incident_events(self, incident_id: str) -> list[IncidentEvent]:
        """The incident's timeline, oldest first."""

    def list_incidents(self, query: IncidentQuery) -> Page[Incident]: ...

    def outbox(self, limit: int = 100) -> list[OutboxEntry]: ...

    def add_token(self, token: ApiToken) -> None: ...

    def token(self, token_hash: str) -> ApiToken | None: ...

    def tokens(self) -> list[ApiToken]:
        """Every token (hashes only), oldest first."""

    def revoke_token(self, token_hash: str) -> bool:
        """Delete a token; False when there was none with that hash."""

    def audit(self, query: AuditQuery) -> Page[AuditRecord]:
        """The audit trail, newest first."""

    def outbox_for(self, incident_id: str) -> list[OutboxEntry]:
        """The notifications queued for one incident, oldest first."""

    def incidents_between(self, start: datetime, end: datetime) -> list[Incident]:
        """Incidents opened or resolved in [start, end) (KPIs)."""

    def incident_events_between(self, start: datetime, end: datetime,
                                kinds: Sequence[str]) -> list[IncidentEvent]:
        """Timeline events of `kinds` recorded in [start, end), oldest first."""

    def count_claims(self, start: datetime, end: datetime,
                     agent_ids: Sequence[str] | None = None) -> int:
        """Reports and events claimed in [start, end), by `agent_ids` (None: all)."""

    def estate_counts(self) -> EstateCounts: ...


WRITE_ATTEMPTS = 5
