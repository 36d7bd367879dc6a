"""The production store: Neo4j 5.26 over Bolt.

Uniqueness constraints carry the guarantees (one owner per identity key, one record
per report id, one open incident per fingerprint), so they hold with several server
processes writing at once. Every query is parameterised; the only names spliced in
are CI class labels taken from `cmdb.classes`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import neo4j
from neo4j import exceptions as neo4j_errors

from cmdb import codec
from cmdb.classes import IMPACT_TYPES, RELATIONSHIPS, ci_class, relationship
from cmdb.errors import StoreUnavailable, UniquenessConflict
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
from cmdb.store import (
    WRITE_ATTEMPTS,
    AuditQuery,
    AuditRecord,
    CIBrief,
    CIQuery,
    EstateCounts,
    ImpactEdge,
    IncidentQuery,
    OutboxEntry,
    RelationshipKey,
)

_IMPACT_PATTERN = "|".join(IMPACT_TYPES)

T = TypeVar("T")

SCHEMA = (
    "CREATE CONSTRAINT ci_id IF NOT EXISTS FOR (c:CI) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT identity_key IF NOT EXISTS FOR (i:Identity) REQUIRE i.key IS UNIQUE",
    "CREATE CONSTRAINT report_id IF NOT EXISTS FOR (r:Report) REQUIRE r.report_id IS UNIQUE",
    "CREATE CONSTRAINT incident_id IF NOT EXISTS FOR (i:Incident) REQUIRE i.id IS UNIQUE",
    "CREATE CONSTRAINT incident_open IF NOT EXISTS "
    "FOR (i:Incident) REQUIRE i.open_fingerprint IS UNIQUE",
    "CREATE CONSTRAINT rule_state_fp IF NOT EXISTS "
    "FOR (s:RuleState) REQUIRE s.fingerprint IS UNIQUE",
    "CREATE CONSTRAINT outbox_id IF NOT EXISTS FOR (o:Outbox) REQUIRE o.id IS UNIQUE",
    "CREATE CONSTRAINT token_hash IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.token_hash IS UNIQUE",
    "CREATE INDEX ci_class IF NOT EXISTS FOR (c:CI) ON (c.ci_class)",
    "CREATE INDEX ci_name IF NOT EXISTS FOR (c:CI) ON (c.name)",
    "CREATE INDEX change_ci IF NOT EXISTS FOR (h:Change) ON (h.ci_id)",
    "CREATE INDEX incident_ci IF NOT EXISTS FOR (i:Incident) ON (i.ci_id)",
    "CREATE INDEX incident_state IF NOT EXISTS FOR (i:Incident) ON (i.state)",
    "CREATE INDEX incident_parent IF NOT EXISTS FOR (i:Incident) ON (i.parent_id)",
    "CREATE INDEX incident_due IF NOT EXISTS FOR (i:Incident) ON (i.due_at)",
    "CREATE INDEX incident_fp IF NOT EXISTS FOR (i:Incident) ON (i.fingerprint)",
    "CREATE INDEX incident_event IF NOT EXISTS FOR (e:IncidentEvent) ON (e.incident_id)",
    "CREATE INDEX rule_state_due IF NOT EXISTS FOR (s:RuleState) ON (s.due_at)",
    "CREATE INDEX outbox_receiver_seq IF NOT EXISTS FOR (o:Outbox) ON (o.receiver, o.seq)",
    "CREATE INDEX audit_n IF NOT EXISTS FOR (a:AuditRecord) ON (a.n)",
    "CREATE INDEX incident_opened IF NOT EXISTS FOR (i:Incident) ON (i.opened_at)",
    "CREATE INDEX incident_resolved IF NOT EXISTS FOR (i:Incident) ON (i.resolved_at)",
    "CREATE INDEX incident_event_kind IF NOT EXISTS FOR (e:IncidentEvent) ON (e.kind, e.at)",
    "CREATE INDEX report_received IF NOT EXISTS FOR (r:Report) ON (r.received_at)",
    "CREATE INDEX outbox_incident IF NOT EXISTS FOR (o:Outbox) ON (o.incident_id)",
)

_UNAVAILABLE = (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError)


class Neo4jStore:
    """`GraphStore` on a Neo4j server (`bolt://` or `neo4j://` URL)."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None,
                 database: str | None = None) -> None:
        self.url = url
        self._database = database
        self._driver = neo4j.GraphDatabase.driver(
            url, auth=auth, connection_timeout=5.0, max_transaction_retry_time=10.0,
            # Planner hints such as "relationship type does not exist yet" are not faults.
            notifications_min_severity="OFF",
        )

    def _session(self) -> neo4j.Session:
        return self._driver.session(database=self._database)

    def initialise(self) -> None:
        try:
            with self._session() as session:
                for statement in SCHEMA:
                    session.run(statement).consume()
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"neo4j at {self.url}: {exc}") from exc

    def close(self) -> None:
        self._driver.close()

    def ping(self) -> None:
        self._read("RETURN 1 AS one", {})

    def write(self, work: Callable[[Any], T]) -> T:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self._session() as session:
                    return session.execute_write(lambda tx: work(_Neo4jTx(tx)))
            except (neo4j_errors.ConstraintError, UniquenessConflict) as exc:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise UniquenessConflict(str(exc)) from exc
            except _UNAVAILABLE as exc:
                raise StoreUnavailable(f"neo4j at {self.url}: {exc}") from exc
            time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def _read(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        # An auto-commit read: RUN and PULL go in one round trip (a managed transaction
        # adds BEGIN and COMMIT), which matters for the many small reads of a walk.
        try:
            with self._driver.session(database=self._database,
                                      default_access_mode=neo4j.READ_ACCESS) as session:
                return [r.data() for r in session.run(query, params)]
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"neo4j at {self.url}: {exc}") from exc

    def get_ci(self, ci_id: str) -> ConfigurationItem | None:
        rows = self._read(
            "MATCH (c:CI {id: $id}) RETURN c {.*} AS ci, "
            "COLLECT { MATCH (i:Identity)-[:IDENTIFIES]->(c) RETURN i.key } AS keys",
            {"id": ci_id},
        )
        return codec.ci_from_row(rows[0]["ci"], tuple(sorted(rows[0]["keys"]))) if rows else None

    def get_cis(self, ci_ids: Sequence[str]) -> dict[str, ConfigurationItem]:
        if not ci_ids:
            return {}
        rows = self._read("UNWIND $ids AS id MATCH (c:CI {id: id}) RETURN c {.*} AS ci",
                          {"ids": list(ci_ids)})
        return {r["ci"]["id"]: codec.ci_from_row(r["ci"]) for r in rows}

    def ci_for_key(self, key: str) -> str | None:
        rows = self._read(
            "MATCH (:Identity {key: $key})-[:IDENTIFIES]->(c:CI) RETURN c.id AS id", {"key": key}
        )
        return str(rows[0]["id"]) if rows else None

    def list_cis(self, query: CIQuery) -> Page[ConfigurationItem]:
        rows = self._read(
            "MATCH (c:CI) WHERE c.id > $cursor "
            "AND ($id IS NULL OR c.id = $id) "
            "AND ($class IS NULL OR c.ci_class = $class) "
            "AND ($status IS NULL OR c.status = $status) "
            "AND ($name IS NULL OR toLower(c.name) CONTAINS toLower($name)) "
            "WITH c ORDER BY c.id LIMIT $limit "
            "RETURN c {.*} AS ci, COLLECT { MATCH (i:Identity)-[:IDENTIFIES]->(c) "
            "RETURN i.key } AS keys ORDER BY c.id",
            {"cursor": query.cursor or "", "id": query.ci_id, "class": query.ci_class,
             "status": query.status, "name": query.name_contains, "limit": query.limit + 1},
        )
        items = [codec.ci_from_row(r["ci"], tuple(sorted(r["keys"])))
                 for r in rows[: query.limit]]
        more = len(rows) > query.limit
        return Page(items, items[-1].id if more and items else None)

    def history(self, ci_id: str) -> list[AttributeChange]:
        rows = self._read(
            "MATCH (h:Change {ci_id: $id}) RETURN h {.*} AS h ORDER BY h.at, h.n", {"id": ci_id}
        )
        return [
            codec.change_from_row({"ci_id": ci_id, "source": h["source"], "at": h["at"],
                                   "attribute": attribute, "old": old, "new": new})
            for h in (r["h"] for r in rows)
            for attribute, old, new in json.loads(h["changes"])
        ]

    def relationships(self, ci_id: str) -> list[Relationship]:
        rows = self._read(
            "MATCH (c:CI {id: $id})-[r]-(o:CI) WHERE type(r) IN $types "
            "RETURN startNode(r).id AS from_id, type(r) AS type, endNode(r).id AS to_id, "
            "r.properties AS properties, r.sources AS sources, r.last_seen AS last_seen "
            "ORDER BY type, from_id, to_id",
            {"id": ci_id, "types": sorted(RELATIONSHIPS)},
        )
        return [codec.relationship_from_row(r) for r in rows]

    def impact_edges(self, ci_ids: Sequence[str], upstream: bool) -> list[ImpactEdge]:
        if not ci_ids:
            return []
        pattern = "(x:CI)-[r]->(c:CI {id: id})" if upstream else "(c:CI {id: id})-[r]->(x:CI)"
        # One collected row, not a record per edge: per-record decoding dominates otherwise.
        rows = self._read(
            f"UNWIND $ids AS id MATCH {pattern.replace('[r]', f'[r:{_IMPACT_PATTERN}]')} "
            "RETURN collect([startNode(r).id, type(r), endNode(r).id, r.redundancy_group]) "
            "AS edges",
            {"ids": list(ci_ids)},
        )
        return [ImpactEdge(f, t, to, None if g in (None, "") else str(g))
                for f, t, to, g in rows[0]["edges"]]

    def ci_briefs(self, ci_ids: Sequence[str]) -> dict[str, CIBrief]:
        if not ci_ids:
            return {}
        rows = self._read(
            "UNWIND $ids AS id MATCH (c:CI {id: id}) "
            "RETURN collect([c.id, c.name, c.ci_class]) AS cis",
            {"ids": list(ci_ids)},
        )
        return {i: CIBrief(i, n, c) for i, n, c in rows[0]["cis"]}

    def edges_into(self, ci_ids: Sequence[str], types: Sequence[str]) -> list[Relationship]:
        return self._edges("(x:CI)-[r]->(c:CI {id: id})", ci_ids, types)

    def edges_out_of(self, ci_ids: Sequence[str], types: Sequence[str]
                     ) -> list[Relationship]:
        return self._edges("(c:CI {id: id})-[r]->(x:CI)", ci_ids, types)

    def _edges(self, pattern: str, ci_ids: Sequence[str], types: Sequence[str]
               ) -> list[Relationship]:
        rel_types = "|".join(relationship(t).name for t in types)  # declared names only
        rows = self._read(
            f"UNWIND $ids AS id MATCH {pattern.replace('[r]', f'[r:{rel_types}]')} "
            "RETURN startNode(r).id AS from_id, type(r) AS type, endNode(r).id AS to_id, "
            "r.properties AS properties, r.sources AS sources, r.last_seen AS last_seen",
            {"ids": list(ci_ids)},
        )
        return [codec.relationship_from_row(r) for r in rows]

    def conflicts(self) -> list[ReconcileConflict]:
        rows = self._read("MATCH (x:Conflict) RETURN x {.*} AS x ORDER BY x.at, x.n", {})
        return [codec.conflict_from_row(r["x"]) for r in rows]

    def get_incident(self, incident_id: str) -> Incident | None:
        rows = self._read("MATCH (i:Incident {id: $id}) RETURN i {.*} AS i", {"id": incident_id})
        return codec.incident_from_row(rows[0]["i"]) if rows else None

    def incident_events(self, incident_id: str) -> list[IncidentEvent]:
        rows = self._read("MATCH (e:IncidentEvent {incident_id: $id}) RETURN e {.*} AS e "
                          "ORDER BY e.n", {"id": incident_id})
        return [codec.event_from_row(r["e"]) for r in rows]

    def list_incidents(self, query: IncidentQuery) -> Page[Incident]:
        rows = self._read(
            "MATCH (i:Incident) WHERE i.id > $cursor "
            "AND ($state IS NULL OR i.state = $state "
            "     OR ($state = 'open' AND i.open_fingerprint IS NOT NULL)) "
            "AND ($ci IS NULL OR i.ci_id = $ci) "
            "AND ($priority IS NULL OR i.priority = $priority) "
            "AND ($group IS NULL OR i.assignment_group = $group) "
            "AND ($parent IS NULL OR i.parent_id = $parent) "
            "AND (NOT $root_only OR i.parent_id IS NULL) "
            "RETURN i {.*} AS i ORDER BY i.id LIMIT $limit",
            {"cursor": query.cursor or "", "state": query.state, "ci": query.ci_id,
             "priority": query.priority, "group": query.assignment_group,
             "parent": query.parent_id, "root_only": query.root_only,
             "limit": query.limit + 1},
        )
        items = [codec.incident_from_row(r["i"]) for r in rows[: query.limit]]
        more = len(rows) > query.limit
        return Page(items, items[-1].id if more and items else None)

    def outbox(self, limit: int = 100) -> list[OutboxEntry]:
        rows = self._read(
            "MATCH (o:Outbox) RETURN o {.*} AS o ORDER BY o.seq LIMIT $limit", {"limit": limit}
        )
        return [
            OutboxEntry(o["id"], o["incident_id"], o["receiver"], o["event"],
                        codec.from_iso(o["created_at"]),
                        json.loads(o["payload"]))
            for o in (r["o"] for r in rows)
        ]

    def add_token(self, token: ApiToken) -> None:
        row = codec.token_row(token)
        self.write(lambda tx: tx.run("CREATE (t:ApiToken) SET t = $row", {"row": row}))

    def token(self, token_hash: str) -> ApiToken | None:
        rows = self._read(
            "MATCH (t:ApiToken {token_hash: $h}) RETURN t {.*} AS t", {"h": token_hash}
        )
        return codec.token_from_row({"agent_id": None, **rows[0]["t"]}) if rows else None

    def tokens(self) -> list[ApiToken]:
        rows = self._read("MATCH (t:ApiToken) RETURN t {.*} AS t "
                          "ORDER BY t.created_at, t.token_hash", {})
        return [codec.token_from_row({"agent_id": None, **r["t"]}) for r in rows]

    def revoke_token(self, token_hash: str) -> bool:
        rows = self.write(lambda tx: tx.run(
            "MATCH (t:ApiToken {token_hash: $h}) DELETE t RETURN count(*) AS n",
            {"h": token_hash}))
        return bool(rows and rows[0]["n"])

    def audit(self, query: AuditQuery) -> Page[AuditRecord]:
        rows = self._read(
            "MATCH (a:AuditRecord) WHERE a.n < $cursor "
            "AND ($actor IS NULL OR a.actor = $actor) "
            "AND ($action IS NULL OR a.action = $action) "
            "RETURN a {.*} AS a ORDER BY a.n DESC LIMIT $limit",
            {"cursor": int(query.cursor) if query.cursor else 2**63 - 1, "actor": query.actor,
             "action": query.action, "limit": query.limit + 1})
        items = [AuditRecord.from_row(r["a"]) for r in rows[: query.limit]]
        more = len(rows) > query.limit
        return Page(items, str(rows[query.limit - 1]["a"]["n"]) if more else None)

    def outbox_for(self, incident_id: str) -> list[OutboxEntry]:
        rows = self._read("MATCH (o:Outbox {incident_id: $id}) RETURN o {.*} AS o "
                          "ORDER BY o.seq", {"id": incident_id})
        return [OutboxEntry(o["id"], o["incident_id"], o["receiver"], o["event"],
                            codec.from_iso(o["created_at"]), json.loads(o["payload"]))
                for o in (r["o"] for r in rows)]

    def incidents_between(self, start: datetime, end: datetime) -> list[Incident]:
        rows = self._read(
            "MATCH (i:Incident) WHERE i.opened_at >= $start AND i.opened_at < $end "
            "RETURN i {.*} AS i UNION MATCH (i:Incident) WHERE i.resolved_at >= $start "
            "AND i.resolved_at < $end RETURN i {.*} AS i",
            {"start": codec.iso(start), "end": codec.iso(end)})
        return sorted((codec.incident_from_row(r["i"]) for r in rows), key=lambda i: i.id)

    def incident_events_between(self, start: datetime, end: datetime,
                                kinds: Sequence[str]) -> list[IncidentEvent]:
        rows = self._read(
            "MATCH (e:IncidentEvent) WHERE e.kind IN $kinds AND e.at >= $start "
            "AND e.at < $end RETURN e {.*} AS e ORDER BY e.n",
            {"kinds": list(kinds), "start": codec.iso(start), "end": codec.iso(end)})
        return [codec.event_from_row(r["e"]) for r in rows]

    def count_claims(self, start: datetime, end: datetime,
                     agent_ids: Sequence[str] | None = None) -> int:
        rows = self._read(
            "MATCH (r:Report) WHERE r.received_at >= $start AND r.received_at < $end "
            "AND ($ids IS NULL OR r.agent_id IN $ids) RETURN count(r) AS n",
            {"start": codec.iso(start), "end": codec.iso(end),
             "ids": None if agent_ids is None else list(agent_ids)})
        return int(rows[0]["n"])

    def estate_counts(self) -> EstateCounts:
        cis = self._read("MATCH (c:CI) RETURN c.ci_class AS class, c.status AS status, "
                         "count(*) AS n", {})
        open_ = self._read("MATCH (i:Incident) WHERE i.open_fingerprint IS NOT NULL "
                           "RETURN i.priority AS priority, count(*) AS n", {})
        outbox = self._read("MATCH (o:Outbox) RETURN count(o) AS n", {})
        return EstateCounts({(r["class"], r["status"]): int(r["n"]) for r in cis},
                            {int(r["priority"] or 5): int(r["n"]) for r in open_},
                            int(outbox[0]["n"]))


def _by_type(keys: Sequence[RelationshipKey]) -> dict[str, list[RelationshipKey]]:
    """Keys grouped by relationship type, each type checked against the declared set."""
    groups: dict[str, list[RelationshipKey]] = {}
    for key in keys:
        groups.setdefault(relationship(key[1]).name, []).append(key)
    return groups


class _Neo4jTx:
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
