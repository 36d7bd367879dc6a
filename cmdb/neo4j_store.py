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
from cmdb.classes import IMPACT_TYPES, RELATIONSHIPS, relationship
from cmdb.errors import StoreUnavailable, UniquenessConflict
from cmdb.neo4j_tx import Neo4jTx
from cmdb.records import (
    ApiToken,
    AttributeChange,
    ConfigurationItem,
    Incident,
    IncidentEvent,
    Page,
    ReconcileConflict,
    Relationship,
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
                    return session.execute_write(lambda tx: work(Neo4jTx(tx)))
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
