"""Impact analysis: what breaks if a CI fails, and what a CI relies on.

Impact flows against the arrows of impact-carrying relationships (`RUNS_ON`,
`DEPENDS_ON`, `CONNECTED_TO`, `HOSTED_ON`): if the target fails, the source is
affected. The walk is breadth-first, one store round trip per level, so it answers
the same on every store. Redundancy is honoured: a CI that depends on several
members of one redundancy group is `degraded`, not `down`, until all of them are down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cmdb.classes import RELATIONSHIPS
from cmdb.errors import NotFound
from cmdb.records import ConfigurationItem, Relationship
from cmdb.store import GraphStore

ImpactStatus = Literal["down", "degraded"]
IMPACT_TYPES: tuple[str, ...] = tuple(sorted(n for n, r in RELATIONSHIPS.items()
                                             if r.carries_impact))
MAX_DEPTH = 10


@dataclass(frozen=True, slots=True)
class PathStep:
    """One hop: `ci_id` reached over `relationship` (read from dependent to dependency)."""

    ci_id: str
    relationship: str


@dataclass(frozen=True, slots=True)
class AffectedCI:
    ci_id: str
    name: str
    ci_class: str
    status: ImpactStatus
    depth: int
    path: tuple[PathStep, ...]


@dataclass(frozen=True, slots=True)
class AffectedService:
    ci_id: str
    name: str
    status: ImpactStatus
    criticality: str | None
    users: int | None


@dataclass(frozen=True, slots=True)
class ImpactReport:
    root: ConfigurationItem
    depth: int
    affected: tuple[AffectedCI, ...]
    services: tuple[AffectedService, ...]
    truncated: bool


def _group(rel: Relationship) -> str | None:
    group = rel.properties.get("redundancy_group")
    return str(group) if group not in (None, "") else None


def _walk(store: GraphStore, roots: Sequence[str], depth: int, upstream: bool
          ) -> tuple[dict[str, int], dict[str, Relationship], bool]:
    """BFS: depth of each CI reached and the edge it was first reached by."""
    depths = {root: 0 for root in roots}
    via: dict[str, Relationship] = {}
    frontier = list(roots)
    level = 0
    while frontier and level < depth:
        level += 1
        edges = (store.edges_into(frontier, IMPACT_TYPES) if upstream
                 else store.edges_out_of(frontier, IMPACT_TYPES))
        next_frontier: list[str] = []
        for edge in sorted(edges, key=lambda e: (e.from_id, e.type, e.to_id)):
            reached = edge.from_id if upstream else edge.to_id
            if reached not in depths:
                depths[reached] = level
                via[reached] = edge
                next_frontier.append(reached)
        frontier = next_frontier
    more = bool(frontier) and bool(
        store.edges_into(frontier, IMPACT_TYPES) if upstream
        else store.edges_out_of(frontier, IMPACT_TYPES))
    return depths, via, more


def _path(ci_id: str, via: Mapping[str, Relationship], upstream: bool) -> tuple[PathStep, ...]:
    steps: list[PathStep] = []
    current = ci_id
    while current in via:
        edge = via[current]
        steps.append(PathStep(current, edge.type))
        current = edge.to_id if upstream else edge.from_id
    return tuple(reversed(steps))


def _statuses(store: GraphStore, failed: set[str], reached: Sequence[str]
              ) -> dict[str, ImpactStatus]:
    """Fixpoint over the reached subgraph: down if a plain dependency or a whole
    redundancy group is down, degraded if only part of a group (or a degraded CI)."""
    edges_of: dict[str, list[Relationship]] = {}
    for edge in store.edges_out_of(list(reached), IMPACT_TYPES):
        edges_of.setdefault(edge.from_id, []).append(edge)
    status: dict[str, ImpactStatus] = dict.fromkeys(failed, "down")
    changed = True
    while changed:  # statuses only rise (none -> degraded -> down), so this ends
        changed = False
        for ci_id in reached:
            if ci_id in failed or status.get(ci_id) == "down":
                continue
            new = _status_of(edges_of.get(ci_id, []), status)
            if new is not None and status.get(ci_id) != new:
                status[ci_id] = new
                changed = True
    return status


def _status_of(edges: Sequence[Relationship],
               status: Mapping[str, ImpactStatus]) -> ImpactStatus | None:
    groups: dict[str, list[str]] = {}
    result: ImpactStatus | None = None
    for edge in edges:
        group = _group(edge)
        if group is not None:
            groups.setdefault(group, []).append(edge.to_id)
        elif status.get(edge.to_id) == "down":
            return "down"
        elif status.get(edge.to_id) == "degraded":
            result = "degraded"
    for members in groups.values():
        states = [status.get(m) for m in members]
        if all(s == "down" for s in states):
            return "down"
        if any(s is not None for s in states):
            result = "degraded"
    return result


def impact(store: GraphStore, ci_id: str, depth: int = 6) -> ImpactReport:
    """Everything downstream of `ci_id` failing, with paths and the business services
    it reaches; `truncated` says the graph goes on past `depth`."""
    root = store.get_ci(ci_id)
    if root is None:
        raise NotFound(f"no CI with id {ci_id!r}")
    depth = max(1, min(depth, MAX_DEPTH))
    depths, via, truncated = _walk(store, [ci_id], depth, upstream=True)
    reached = sorted(depths)
    status = _statuses(store, {ci_id}, reached)
    cis = store.get_cis([c for c in reached if c != ci_id])
    affected = tuple(
        AffectedCI(c, ci.name, ci.ci_class, status.get(c, "degraded"), depths[c],
                   _path(c, via, upstream=True))
        for c, ci in sorted(cis.items(), key=lambda kv: (depths[kv[0]], kv[0]))
    )
    services = tuple(
        AffectedService(a.ci_id, a.name, a.status, _text(cis[a.ci_id], "criticality"),
                        _int(cis[a.ci_id], "users"))
        for a in affected if a.ci_class == "BusinessService"
    )
    return ImpactReport(root, depth, affected, services, truncated)


def dependencies(store: GraphStore, ci_id: str, depth: int = 6
                 ) -> tuple[ConfigurationItem, list[tuple[ConfigurationItem, int,
                                                          tuple[PathStep, ...]]]]:
    """What `ci_id` relies on, transitively: each CI with its depth and path."""
    root = store.get_ci(ci_id)
    if root is None:
        raise NotFound(f"no CI with id {ci_id!r}")
    depths, via, _ = _walk(store, [ci_id], max(1, min(depth, MAX_DEPTH)), upstream=False)
    cis = store.get_cis([c for c in depths if c != ci_id])
    found = [(ci, depths[c], _path(c, via, upstream=False))
             for c, ci in sorted(cis.items(), key=lambda kv: (depths[kv[0]], kv[0]))]
    return root, found


def _text(ci: ConfigurationItem | None, key: str) -> str | None:
    value = ci.attributes.get(key) if ci else None
    return str(value) if value is not None else None


def _int(ci: ConfigurationItem | None, key: str) -> int | None:
    value = ci.attributes.get(key) if ci else None
    return value if isinstance(value, int) else None
