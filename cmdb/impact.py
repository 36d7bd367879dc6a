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

from cmdb.classes import IMPACT_TYPES
from cmdb.errors import NotFound
from cmdb.records import ConfigurationItem
from cmdb.store import CIBrief, GraphStore, ImpactEdge

ImpactStatus = Literal["down", "degraded"]
MAX_DEPTH = 10
__all__ = ["IMPACT_TYPES", "ImpactReport", "dependencies", "impact", "propagate"]


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


@dataclass(frozen=True, slots=True)
class _Walk:
    depths: dict[str, int]
    via: dict[str, ImpactEdge]
    truncated: bool


def _walk(store: GraphStore, root: str, depth: int, upstream: bool) -> _Walk:
    """BFS: the depth of each CI reached and the edge it was first reached by."""
    depths = {root: 0}
    via: dict[str, ImpactEdge] = {}
    frontier = [root]
    for level in range(1, depth + 1):
        next_frontier: list[str] = []
        edges = store.impact_edges(frontier, upstream)
        for edge in sorted(edges, key=lambda e: (e.from_id, e.type, e.to_id)):
            reached = edge.from_id if upstream else edge.to_id
            if reached not in depths:
                depths[reached] = level
                via[reached] = edge
                next_frontier.append(reached)
        frontier = next_frontier
        if not frontier:
            return _Walk(depths, via, False)
    truncated = any((e.from_id if upstream else e.to_id) not in depths
                    for e in store.impact_edges(frontier, upstream))
    return _Walk(depths, via, truncated)


def _path(ci_id: str, via: Mapping[str, ImpactEdge], upstream: bool) -> tuple[PathStep, ...]:
    steps: list[PathStep] = []
    current = ci_id
    while current in via:
        edge = via[current]
        steps.append(PathStep(current, edge.type))
        current = edge.to_id if upstream else edge.from_id
    return tuple(reversed(steps))


def _statuses(store: GraphStore, failed: str, reached: Sequence[str]
              ) -> dict[str, ImpactStatus]:
    edges_of: dict[str, list[ImpactEdge]] = {}
    dependents = [c for c in reached if c != failed]
    for edge in store.impact_edges(dependents, upstream=False):
        edges_of.setdefault(edge.from_id, []).append(edge)
    return propagate({failed}, reached, edges_of)


def propagate(failed: set[str], reached: Sequence[str],
              edges_of: Mapping[str, Sequence[ImpactEdge]]) -> dict[str, ImpactStatus]:
    """Fixpoint over a subgraph: a CI is down if a plain dependency or a whole
    redundancy group is down, degraded if only part of a group (or a degraded CI) is.
    `edges_of` holds each CI's outgoing impact edges."""
    status: dict[str, ImpactStatus] = dict.fromkeys(failed, "down")
    changed = True
    while changed:  # statuses only rise (none -> degraded -> down), so this ends
        changed = False
        for ci_id in reached:
            if status.get(ci_id) == "down":
                continue
            new = _status_of(edges_of.get(ci_id, []), status)
            if new is not None and status.get(ci_id) != new:
                status[ci_id] = new
                changed = True
    return status


def _status_of(edges: Sequence[ImpactEdge], status: Mapping[str, ImpactStatus]
               ) -> ImpactStatus | None:
    groups: dict[str, list[str]] = {}
    result: ImpactStatus | None = None
    for edge in edges:
        if edge.redundancy_group is not None:
            groups.setdefault(edge.redundancy_group, []).append(edge.to_id)
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


def _root(store: GraphStore, ci_id: str) -> ConfigurationItem:
    root = store.get_ci(ci_id)
    if root is None:
        raise NotFound(f"no CI with id {ci_id!r}")
    return root


def _ordered(walk: _Walk, briefs: Mapping[str, CIBrief]) -> list[CIBrief]:
    return sorted(briefs.values(), key=lambda b: (walk.depths[b.id], b.id))


def impact(store: GraphStore, ci_id: str, depth: int = 6) -> ImpactReport:
    """Everything downstream of `ci_id` failing, with paths and the business services
    it reaches; `truncated` says the graph goes on past `depth`."""
    root = _root(store, ci_id)
    depth = max(1, min(depth, MAX_DEPTH))
    walk = _walk(store, ci_id, depth, upstream=True)
    reached = sorted(walk.depths)
    status = _statuses(store, ci_id, reached)
    briefs = store.ci_briefs([c for c in reached if c != ci_id])
    affected = tuple(
        AffectedCI(b.id, b.name, b.ci_class, status.get(b.id, "degraded"), walk.depths[b.id],
                   _path(b.id, walk.via, upstream=True))
        for b in _ordered(walk, briefs)
    )
    services = store.get_cis([a.ci_id for a in affected if a.ci_class == "BusinessService"])
    return ImpactReport(root, depth, affected, tuple(
        AffectedService(a.ci_id, a.name, a.status, _text(services[a.ci_id], "criticality"),
                        _int(services[a.ci_id], "users"))
        for a in affected if a.ci_id in services
    ), walk.truncated)


def dependencies(store: GraphStore, ci_id: str, depth: int = 6
                 ) -> tuple[ConfigurationItem, list[tuple[CIBrief, int, tuple[PathStep, ...]]]]:
    """What `ci_id` relies on, transitively: each CI with its depth and path."""
    root = _root(store, ci_id)
    walk = _walk(store, ci_id, max(1, min(depth, MAX_DEPTH)), upstream=False)
    briefs = store.ci_briefs([c for c in walk.depths if c != ci_id])
    return root, [(b, walk.depths[b.id], _path(b.id, walk.via, upstream=False))
                  for b in _ordered(walk, briefs)]


def _text(ci: ConfigurationItem, key: str) -> str | None:
    value = ci.attributes.get(key)
    return str(value) if value is not None else None


def _int(ci: ConfigurationItem, key: str) -> int | None:
    value = ci.attributes.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
