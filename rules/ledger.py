"""The engine's state: open incidents, rule timers, and what one evaluation changes.

`Ledger` is the explicit state object the pure core reads and writes. `TxLedger`
reads lazily from a write transaction (each read locks what it reads, so two server
processes serialise per incident) and `flush()`es the changes in that transaction;
`MemoryLedger` keeps everything in dicts for tests and benchmarks, and can be copied
to simulate a restart.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cmdb.records import Incident, IncidentEvent, RuleState
from cmdb.store import OutboxEntry, WriteTx


@dataclass
class Changes:
    """What an evaluation wrote, in order: the unit persisted in one transaction."""

    incidents: dict[str, Incident] = field(default_factory=dict)
    new_incidents: set[str] = field(default_factory=set)
    events: list[IncidentEvent] = field(default_factory=list)
    rule_states: dict[str, RuleState | None] = field(default_factory=dict)
    outbox: list[OutboxEntry] = field(default_factory=list)


class Ledger:
    """Reads go through `_load_*` (overridden per backing); writes are kept in
    `changes` and visible to later reads of the same evaluation."""

    def __init__(self) -> None:
        self.changes = Changes()
        self._by_fp: dict[str, Incident | None] = {}
        self._states: dict[str, RuleState | None] = {}
        self._changed_on: dict[str, set[str]] = {}  # CI id -> ids of changed incidents
        self._changed_children: dict[str, set[str]] = {}  # parent id -> changed children

    # -- backing reads, overridden -------------------------------------------------
    def _load_open(self, fingerprints: Sequence[str]) -> dict[str, Incident]:
        raise NotImplementedError

    def _load_open_on(self, ci_ids: Sequence[str]) -> list[Incident]:
        raise NotImplementedError

    def _load_states(self, fingerprints: Sequence[str]) -> dict[str, RuleState]:
        raise NotImplementedError

    def last_resolved(self, fingerprint: str, since: datetime) -> Incident | None:
        raise NotImplementedError

    def children(self, parent_id: str) -> list[Incident]:
        raise NotImplementedError

    def _load_by_id(self, ids: Sequence[str]) -> dict[str, Incident]:
        raise NotImplementedError

    def due_incidents(self, now: datetime) -> list[Incident]:
        raise NotImplementedError

    def due_rule_states(self, now: datetime) -> list[RuleState]:
        raise NotImplementedError

    # -- reads -------------------------------------------------------------------------
    def preload(self, fingerprints: Iterable[str]) -> None:
        """Read the open incidents and rule states of `fingerprints` in one go."""
        asked = set(fingerprints)
        wanted = sorted(fp for fp in asked if fp not in self._by_fp)
        if wanted:
            found = self._load_open(wanted)
            self._by_fp.update((fp, found.get(fp)) for fp in wanted)
        wanted = sorted(fp for fp in asked if fp not in self._states)
        if wanted:
            states = self._load_states(wanted)
            self._states.update((fp, states.get(fp)) for fp in wanted)

    def open_incident(self, fingerprint: str) -> Incident | None:
        self.preload([fingerprint])
        return self._by_fp[fingerprint]

    def open_on(self, ci_ids: Iterable[str]) -> list[Incident]:
        """Open incidents on these CIs, including ones opened in this evaluation."""
        ids = set(ci_ids)
        found = {i.id: i for i in self._load_open_on(sorted(ids))} if ids else {}
        for incident in found.values():
            self._by_fp.setdefault(incident.fingerprint, incident)
        for ci_id in ids:
            for incident_id in self._changed_on.get(ci_id, ()):
                found[incident_id] = self.changes.incidents[incident_id]
        result = []
        for incident in found.values():
            latest = self.changes.incidents.get(incident.id, incident)
            current = self._by_fp.get(latest.fingerprint, latest)
            if latest.is_open and (current is None or current.id == latest.id):
                result.append(latest)
        return result

    def rule_state(self, fingerprint: str) -> RuleState | None:
        self.preload([fingerprint])
        return self._states[fingerprint]

    def incident(self, incident_id: str) -> Incident | None:
        return self.changes.incidents.get(incident_id)

    def incidents_by_id(self, ids: Iterable[str]) -> dict[str, Incident]:
        wanted = set(ids)
        found = {i: self.changes.incidents[i] for i in wanted if i in self.changes.incidents}
        missing = sorted(wanted - set(found))
        if missing:
            found.update(self._load_by_id(missing))
        return found

    # -- writes ------------------------------------------------------------------------
    def put(self, incident: Incident, *events: IncidentEvent, new: bool = False) -> None:
        self.changes.incidents[incident.id] = incident
        self._changed_on.setdefault(incident.ci_id, set()).add(incident.id)
        if incident.parent_id:
            self._changed_children.setdefault(incident.parent_id, set()).add(incident.id)
        if new:
            self.changes.new_incidents.add(incident.id)
        self._by_fp[incident.fingerprint] = incident if incident.is_open else None
        self.changes.events.extend(events)

    def remember(self, incident: Incident) -> None:
        """Make an incident read elsewhere (a parent, a child) visible to lookups."""
        if incident.is_open:
            self._by_fp.setdefault(incident.fingerprint, incident)

    def put_state(self, state: RuleState) -> None:
        self._states[state.fingerprint] = state
        self.changes.rule_states[state.fingerprint] = state

    def drop_state(self, fingerprint: str) -> None:
        if self.rule_state(fingerprint) is not None or fingerprint in self.changes.rule_states:
            self.changes.rule_states[fingerprint] = None
        self._states[fingerprint] = None

    def notify(self, entries: Sequence[OutboxEntry]) -> None:
        self.changes.outbox.extend(entries)


class TxLedger(Ledger):
    """A ledger over one write transaction."""

    def __init__(self, tx: WriteTx) -> None:
        super().__init__()
        self.tx = tx

    def _load_open(self, fingerprints: Sequence[str]) -> dict[str, Incident]:
        return self.tx.open_incidents(fingerprints)

    def _load_open_on(self, ci_ids: Sequence[str]) -> list[Incident]:
        return self.tx.open_incidents_on(ci_ids)

    def _load_states(self, fingerprints: Sequence[str]) -> dict[str, RuleState]:
        return self.tx.load_rule_states(fingerprints)

    def last_resolved(self, fingerprint: str, since: datetime) -> Incident | None:
        return self.tx.last_resolved([fingerprint], since).get(fingerprint)

    def _load_by_id(self, ids: Sequence[str]) -> dict[str, Incident]:
        return self.tx.incidents_by_id(ids)

    def children(self, parent_id: str) -> list[Incident]:
        stored = {i.id: i for i in self.tx.children_of([parent_id])}
        stored.update((i, self.changes.incidents[i])
                      for i in self._changed_children.get(parent_id, ()))
        return [self.changes.incidents.get(i, c) for i, c in sorted(stored.items())
                if self.changes.incidents.get(i, c).parent_id == parent_id]

    def due_incidents(self, now: datetime) -> list[Incident]:
        return self.tx.due_incidents(now, limit=1000)

    def due_rule_states(self, now: datetime) -> list[RuleState]:
        return self.tx.due_rule_states(now, limit=1000)

    def flush(self) -> Changes:
        """Write everything this evaluation changed into the transaction."""
        changes = self.changes
        for incident_id, incident in changes.incidents.items():
            if incident_id in changes.new_incidents:
                self.tx.insert_incident(incident)
            else:
                self.tx.update_incident(incident)
        if changes.events:
            self.tx.add_incident_events(changes.events)
        saved = [s for s in changes.rule_states.values() if s is not None]
        dropped = [fp for fp, s in changes.rule_states.items() if s is None]
        if saved:
            self.tx.save_rule_states(saved)
        if dropped:
            self.tx.drop_rule_states(dropped)
        if changes.outbox:
            self.tx.enqueue(changes.outbox)
        return changes


class MemoryLedger(Ledger):
    """A ledger whose whole state lives in memory; `commit()` folds the changes in."""

    def __init__(self) -> None:
        super().__init__()
        self.incidents: dict[str, Incident] = {}
        self.states: dict[str, RuleState] = {}
        self.events: list[IncidentEvent] = []
        self.outbox: list[OutboxEntry] = []
        # Indexes a store would keep: open incident per fingerprint, open ones per CI.
        self._open_fp: dict[str, str] = {}
        self._open_on: dict[str, set[str]] = {}
        self._children: dict[str, set[str]] = {}
        self._by_fingerprint: dict[str, set[str]] = {}

    def _index(self, incident: Incident) -> None:
        old = self.incidents.get(incident.id)
        if old is not None:
            self._open_on.get(old.ci_id, set()).discard(old.id)
            if self._open_fp.get(old.fingerprint) == old.id:
                del self._open_fp[old.fingerprint]
            if old.parent_id:
                self._children.get(old.parent_id, set()).discard(old.id)
        self.incidents[incident.id] = incident
        self._by_fingerprint.setdefault(incident.fingerprint, set()).add(incident.id)
        if incident.is_open:
            self._open_fp[incident.fingerprint] = incident.id
            self._open_on.setdefault(incident.ci_id, set()).add(incident.id)
        if incident.parent_id:
            self._children.setdefault(incident.parent_id, set()).add(incident.id)

    def _load_open(self, fingerprints: Sequence[str]) -> dict[str, Incident]:
        return {fp: self.incidents[self._open_fp[fp]] for fp in fingerprints
                if fp in self._open_fp}

    def _load_open_on(self, ci_ids: Sequence[str]) -> list[Incident]:
        return [self.incidents[i] for c in ci_ids for i in self._open_on.get(c, ())]

    def _load_states(self, fingerprints: Sequence[str]) -> dict[str, RuleState]:
        return {fp: self.states[fp] for fp in fingerprints if fp in self.states}

    def last_resolved(self, fingerprint: str, since: datetime) -> Incident | None:
        candidates = (self.incidents[i] for i in self._by_fingerprint.get(fingerprint, ()))
        resolved = [i for i in candidates if i.state == "resolved"
                    and i.resolved_at is not None and i.resolved_at >= since]
        return max(resolved, key=lambda i: i.resolved_at or since, default=None)

    def _load_by_id(self, ids: Sequence[str]) -> dict[str, Incident]:
        return {i: self.incidents[i] for i in ids if i in self.incidents}

    def children(self, parent_id: str) -> list[Incident]:
        ids = set(self._children.get(parent_id, ()))
        ids.update(self._changed_children.get(parent_id, ()))
        merged = [self.changes.incidents.get(i) or self.incidents[i] for i in sorted(ids)]
        return [i for i in merged if i.parent_id == parent_id]

    def due_incidents(self, now: datetime) -> list[Incident]:
        return sorted((i for i in self.incidents.values()
                       if i.is_open and i.due_at is not None and i.due_at <= now),
                      key=lambda i: (i.due_at or now, i.id))

    def due_rule_states(self, now: datetime) -> list[RuleState]:
        return sorted((s for s in self.states.values()
                       if s.due_at is not None and s.due_at <= now),
                      key=lambda s: (s.due_at or now, s.fingerprint))

    def commit(self) -> Changes:
        """Fold this evaluation's changes into the state; start a new evaluation."""
        changes = self.changes
        for incident in changes.incidents.values():
            self._index(incident)
        for fp, state in changes.rule_states.items():
            if state is None:
                self.states.pop(fp, None)
            else:
                self.states[fp] = state
        self.events.extend(changes.events)
        self.outbox.extend(changes.outbox)
        self.changes, self._by_fp, self._states = Changes(), {}, {}
        self._changed_on, self._changed_children = {}, {}
        return changes

    def restarted(self) -> MemoryLedger:
        """A fresh ledger with a copy of the committed state, as after a restart."""
        copy_of = MemoryLedger()
        for incident in copy.deepcopy(self.incidents).values():
            copy_of._index(incident)
        copy_of.states = copy.deepcopy(self.states)
        return copy_of
