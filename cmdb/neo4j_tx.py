"""`WriteTx` on a Neo4j managed transaction: the primitive reads and writes that
reconciliation and the rules engine run inside one write. Every query is
parameterised; labels and relationship types come from `cmdb.classes`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import neo4j
from neo4j import exceptions as neo4j_errors

from cmdb import codec
from cmdb.classes import IMPACT_TYPES, ci_class, relationship
from cmdb.errors import UniquenessConflict
from cmdb.records import (
    AttributeChange,
    ConfigurationItem,
    Incident,
    IncidentEvent,
    ReconcileConflict,
    Relationship,
    RuleState,
)
from cmdb.store import (
    AuditRecord,
    OutboxEntry,
    RelationshipKey,
)

_IMPACT_PATTERN = "|".join(IMPACT_TYPES)

def _by_type(keys: Sequence[RelationshipKey]) -> dict[str, list[RelationshipKey]]:
    """Keys grouped by relationship type, each type checked against the declared set."""
    groups: dict[str, list[RelationshipKey]] = {}
    for key in keys:
        groups.setdefault(relationship(key[1]).name, []).append(key)
    return groups


class Neo4jTx:
    """`WriteTx` on a Neo4j managed transaction."""

    def __init__(self, tx: neo4j.ManagedTransaction) -> None:
        self._tx = tx

    def run(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return [r.data() for r in self._tx.run(query, params)]
        except neo4j_errors.ConstraintError as exc:
            raise UniquenessConflict(str(exc)) from exc

    def cis_by_keys(self, keys: Sequence[str]) -> dict[str, str]:
        rows = self.run(
            "UNWIND $keys AS k MATCH (:Identity {key: k})-[:IDENTIFIES]->(c:CI) "
            "RETURN k AS key, c.id AS id",
            {"keys": list(keys)},
        )
        return {r["key"]: r["id"] for r in rows}

    def load_cis(self, ids: Sequence[str]) -> dict[str, ConfigurationItem]:
        # Writing a property takes the node's write lock for the rest of the transaction,
        # so concurrent read-merge-write of one CI serialises instead of losing updates.
        rows = self.run(
            "UNWIND $ids AS id MATCH (c:CI {id: id}) SET c._lock = true REMOVE c._lock "
            "RETURN c {.*} AS ci",
            {"ids": list(ids)},
        )
        return {r["ci"]["id"]: codec.ci_from_row(r["ci"]) for r in rows}

    def ci_classes(self, ids: Sequence[str]) -> dict[str, str]:
        rows = self.run("UNWIND $ids AS id MATCH (c:CI {id: id}) "
                        "RETURN collect([c.id, c.ci_class]) AS cis", {"ids": list(ids)})
        return {i: c for i, c in rows[0]["cis"]} if rows else {}

    def save_cis(self, cis: Sequence[ConfigurationItem]) -> None:
        by_class: dict[str, list[dict[str, Any]]] = {}
        for ci in cis:
            by_class.setdefault(ci.ci_class, []).append(codec.ci_row(ci))
        for name, rows in by_class.items():
            label = ci_class(name).name  # declared label only, never input
            self.run(
                f"UNWIND $rows AS r MERGE (c:CI {{id: r.id}}) SET c += r, c:{label}",
                {"rows": rows},
            )

    def attach_keys(self, keys: Sequence[tuple[str, str]]) -> None:
        self.run(
            "UNWIND $pairs AS p MATCH (c:CI {id: p[1]}) "
            "CREATE (:Identity {key: p[0]})-[:IDENTIFIES]->(c)",
            {"pairs": [list(k) for k in keys]},
        )

    def add_history(self, changes: Sequence[AttributeChange]) -> None:
        # One node per CI, source and instant holding all its attribute changes: a
        # reconciled host changes many attributes at once, and nodes are the cost.
        sets: dict[tuple[str, str, str], list[list[object]]] = {}
        for change in changes:
            row = codec.change_row(change)
            sets.setdefault((row["ci_id"], row["source"], row["at"]), []).append(
                [row["attribute"], row["old"], row["new"]])
        base = time.time_ns()  # write order breaks ties between sets of one instant
        rows = [{"ci_id": ci, "source": source, "at": at, "n": base + n,
                 "changes": codec.dumps(items)}
                for n, ((ci, source, at), items) in enumerate(sets.items())]
        self.run("UNWIND $rows AS r CREATE (h:Change) SET h = r", {"rows": rows})

    def add_conflicts(self, conflicts: Sequence[ReconcileConflict]) -> None:
        base = time.time_ns()
        rows = [{**codec.conflict_row(c), "n": base + n} for n, c in enumerate(conflicts)]
        self.run("UNWIND $rows AS r CREATE (x:Conflict) SET x = r", {"rows": rows})

    def load_relationships(self, keys: Sequence[RelationshipKey]
                           ) -> dict[RelationshipKey, Relationship]:
        found: dict[RelationshipKey, Relationship] = {}
        for rel_type, group in _by_type(keys).items():
            rows = self.run(
                f"UNWIND $keys AS k MATCH (a:CI {{id: k[0]}})-[r:{rel_type}]->(b:CI {{id: k[2]}}) "
                "RETURN a.id AS from_id, type(r) AS type, b.id AS to_id, "
                "r.properties AS properties, r.sources AS sources, r.last_seen AS last_seen",
                {"keys": [list(k) for k in group]},
            )
            for row in rows:
                rel = codec.relationship_from_row(row)
                found[(rel.from_id, rel.type, rel.to_id)] = rel
        return found

    def save_relationships(self, relationships: Sequence[Relationship]) -> None:
        by_type: dict[str, list[dict[str, Any]]] = {}
        for rel in relationships:
            row = codec.relationship_row(rel)
            # Declared properties also as plain properties, so Cypher can filter on them.
            row["plain"] = {k: v for k, v in rel.properties.items()}
            by_type.setdefault(relationship(rel.type).name, []).append(row)
        for rel_type, rows in by_type.items():
            self.run(
                f"UNWIND $rows AS row MATCH (a:CI {{id: row.from_id}}), (b:CI {{id: row.to_id}}) "
                f"MERGE (a)-[r:{rel_type}]->(b) SET r = row.plain, "
                "r.properties = row.properties, r.sources = row.sources, "
                "r.last_seen = row.last_seen",
                {"rows": rows},
            )

    def delete_relationships(self, keys: Sequence[RelationshipKey]) -> int:
        deleted = 0
        for rel_type, group in _by_type(keys).items():
            rows = self.run(
                f"UNWIND $keys AS k MATCH (:CI {{id: k[0]}})-[r:{rel_type}]->(:CI {{id: k[2]}}) "
                "DELETE r RETURN count(*) AS n",
                {"keys": [list(k) for k in group]},
            )
            deleted += int(rows[0]["n"]) if rows else 0
        return deleted

    def cis_last_seen_before(self, cutoff: datetime, status: str) -> list[ConfigurationItem]:
        rows = self.run(
            "MATCH (c:CI) WHERE c.status = $status AND c.last_seen < $cutoff "
            "RETURN c {.*} AS ci ORDER BY c.id",
            {"status": status, "cutoff": codec.iso(cutoff)},
        )
        return [codec.ci_from_row(r["ci"]) for r in rows]

    def claim_report(self, report_id: str, agent_id: str, at: datetime) -> bool:
        rows = self.run(
            "MERGE (r:Report {report_id: $id}) ON CREATE SET r.agent_id = $agent, "
            "r.received_at = $at, r.fresh = true ON MATCH SET r.fresh = false "
            "RETURN r.fresh AS fresh",
            {"id": report_id, "agent": agent_id, "at": codec.iso(at)},
        )
        return bool(rows[0]["fresh"])

    def _incidents(self, match: str, params: dict[str, Any]) -> list[Incident]:
        # Writing a property locks each incident for the rest of this transaction.
        rows = self.run(f"{match} SET i._lock = true REMOVE i._lock RETURN i {{.*}} AS i",
                        params)
        return [codec.incident_from_row(r["i"]) for r in rows]

    def open_incidents(self, fingerprints: Sequence[str]) -> dict[str, Incident]:
        found = self._incidents("UNWIND $fps AS fp MATCH (i:Incident {open_fingerprint: fp})",
                                {"fps": list(fingerprints)})
        return {i.fingerprint: i for i in found}

    def open_incidents_on(self, ci_ids: Sequence[str]) -> list[Incident]:
        return self._incidents(
            "UNWIND $ids AS id MATCH (i:Incident {ci_id: id}) "
            "WHERE i.open_fingerprint IS NOT NULL WITH i", {"ids": list(ci_ids)})

    def incidents_by_id(self, ids: Sequence[str]) -> dict[str, Incident]:
        found = self._incidents("UNWIND $ids AS id MATCH (i:Incident {id: id})",
                                {"ids": list(ids)})
        return {i.id: i for i in found}

    def children_of(self, parent_ids: Sequence[str]) -> list[Incident]:
        found = self._incidents("UNWIND $ids AS id MATCH (i:Incident {parent_id: id})",
                                {"ids": list(parent_ids)})
        return sorted(found, key=lambda i: i.id)

    def due_incidents(self, now: datetime, limit: int) -> list[Incident]:
        found = self._incidents(
            "MATCH (i:Incident) WHERE i.due_at <= $now AND i.open_fingerprint IS NOT NULL "
            "WITH i ORDER BY i.due_at LIMIT $limit", {"now": codec.iso(now), "limit": limit})
        return sorted(found, key=lambda i: i.due_at or now)

    def last_resolved(self, fingerprints: Sequence[str], since: datetime
                      ) -> dict[str, Incident]:
        rows = self.run(
            "UNWIND $fps AS fp MATCH (i:Incident {fingerprint: fp}) "
            "WHERE i.resolved_at >= $since AND i.state = 'resolved' "
            "RETURN i {.*} AS i ORDER BY i.resolved_at",
            {"fps": list(fingerprints), "since": codec.iso(since)})
        return {r["i"]["fingerprint"]: codec.incident_from_row(r["i"]) for r in rows}

    def insert_incident(self, incident: Incident) -> None:
        row = codec.incident_row(incident)
        self.run(
            "CREATE (i:Incident) SET i = $row WITH i "
            "MATCH (c:CI {id: $row.ci_id}) CREATE (i)-[:AFFECTS]->(c)",
            {"row": row},
        )

    def update_incident(self, incident: Incident) -> None:
        # `+=` with a null removes the property: a resolved incident loses its open key.
        self.run("MATCH (i:Incident {id: $row.id}) SET i += $row",
                 {"row": codec.incident_row(incident)})

    def add_incident_events(self, events: Sequence[IncidentEvent]) -> None:
        base = time.time_ns()
        rows = [{**codec.event_row(e), "n": base + n} for n, e in enumerate(events)]
        self.run("UNWIND $rows AS r CREATE (e:IncidentEvent) SET e = r", {"rows": rows})

    def load_rule_states(self, fingerprints: Sequence[str]) -> dict[str, RuleState]:
        rows = self.run(
            "UNWIND $fps AS fp MATCH (s:RuleState {fingerprint: fp}) "
            "SET s._lock = true REMOVE s._lock RETURN s {.*} AS s", {"fps": list(fingerprints)})
        return {r["s"]["fingerprint"]: codec.rule_state_from_row(r["s"]) for r in rows}

    def save_rule_states(self, states: Sequence[RuleState]) -> None:
        self.run("UNWIND $rows AS r MERGE (s:RuleState {fingerprint: r.fingerprint}) SET s = r",
                 {"rows": [codec.rule_state_row(s) for s in states]})

    def drop_rule_states(self, fingerprints: Sequence[str]) -> None:
        self.run("UNWIND $fps AS fp MATCH (s:RuleState {fingerprint: fp}) DELETE s",
                 {"fps": list(fingerprints)})

    def due_rule_states(self, now: datetime, limit: int) -> list[RuleState]:
        rows = self.run(
            "MATCH (s:RuleState) WHERE s.due_at <= $now WITH s ORDER BY s.due_at LIMIT $limit "
            "SET s._lock = true REMOVE s._lock RETURN s {.*} AS s",
            {"now": codec.iso(now), "limit": limit})
        return [codec.rule_state_from_row(r["s"]) for r in rows]

    def add_audit(self, records: Sequence[AuditRecord]) -> None:
        base = time.time_ns()
        self.run("UNWIND $rows AS r CREATE (a:AuditRecord) SET a = r",
                 {"rows": [{**r.row(), "n": base + n} for n, r in enumerate(records)]})

    def enqueue(self, entries: Sequence[OutboxEntry]) -> None:
        if not entries:
            return
        # One counter node keeps a total order of notifications across writers.
        rows = self.run(
            "MERGE (s:Sequence {name: 'outbox'}) SET s.value = coalesce(s.value, 0) + $n "
            "RETURN s.value AS last",
            {"n": len(entries)},
        )
        first = int(rows[0]["last"]) - len(entries) + 1
        self.run(
            "UNWIND $rows AS r CREATE (o:Outbox) SET o = r",
            {"rows": [
                {"id": e.id, "seq": first + i, "incident_id": e.incident_id,
                 "receiver": e.receiver, "event": e.event,
                 "created_at": codec.iso(e.created_at), "payload": codec.dumps(e.payload)}
                for i, e in enumerate(entries)
            ]},
        )
