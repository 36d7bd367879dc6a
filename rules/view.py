"""The read-only view of the CI graph the evaluation core asks questions of.

`GraphView` is a protocol: `StoreGraphView` answers from a `GraphStore` (caching
within one evaluation), `MemoryGraph` from dicts (tests, benchmarks). Failure status
propagation (down vs degraded, redundancy groups) is the CMDB's own
(`cmdb.impact.propagate`), so correlation and impact analysis agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cmdb.impact import ImpactStatus, propagate
from cmdb.records import ConfigurationItem
from cmdb.store import GraphStore, ImpactEdge

DEPTH = 6


@dataclass(frozen=True, slots=True)
class CIView:
    """What rules, routing and priority may ask of a CI."""

    ci_id: str
    ci_class: str
    name: str
    attributes: Mapping[str, object] = field(default_factory=dict)
    owner_group: str | None = None
    support_group: str | None = None

    @property
    def location(self) -> str | None:
        value = self.attributes.get("location")
        return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Reach:
    """CIs reached from one CI over impact-carrying relationships: depth of each, the
    edge each was first reached by, and the outgoing edges of every CI reached."""

    origin: str
    depths: dict[str, int]
    via: dict[str, ImpactEdge]
    edges_of: dict[str, list[ImpactEdge]]

    def path(self, ci_id: str, upstream: bool) -> tuple[tuple[str, str], ...]:
        """(ci_id, relationship) hops from `origin` to `ci_id`."""
        steps: list[tuple[str, str]] = []
        current = ci_id
        while current in self.via:
            edge = self.via[current]
            steps.append((current, edge.type))
            current = edge.from_id if upstream else edge.to_id
        return tuple(reversed(steps))


@dataclass(frozen=True, slots=True)
class ServiceImpact:
    name: str
    criticality: str | None
    status: ImpactStatus
    users: int | None


@dataclass(frozen=True, slots=True)
class ImpactFacts:
    """What failing a CI would do: business services reached and how many CIs."""

    business_services: tuple[ServiceImpact, ...]
    dependent_cis: int
    users: int


class GraphView(Protocol):
    def ci(self, ci_id: str) -> CIView | None: ...

    def upstream(self, ci_id: str) -> Reach:
        """What `ci_id` depends on (its dependencies), transitively."""

    def downstream(self, ci_id: str) -> Reach:
        """What depends on `ci_id` (its dependents), transitively."""

    def impact_facts(self, ci_id: str) -> ImpactFacts: ...


def is_down(reach: Reach, failed: Iterable[str]) -> bool:
    """Whether `reach.origin` is down when the CIs in `failed` (upstream of it) are."""
    status = propagate(set(failed), list(reach.depths), reach.edges_of)
    return status.get(reach.origin) == "down"


class MemoryGraph:
    """A `GraphView` over in-memory CIs and impact edges."""

    def __init__(self, cis: Iterable[CIView], edges: Iterable[ImpactEdge]) -> None:
        self._cis = {c.ci_id: c for c in cis}
        self._out: dict[str, list[ImpactEdge]] = {}
        self._in: dict[str, list[ImpactEdge]] = {}
        for edge in edges:
            self._out.setdefault(edge.from_id, []).append(edge)
            self._in.setdefault(edge.to_id, []).append(edge)
        self._cache: dict[tuple[str, bool], Reach] = {}

    def ci(self, ci_id: str) -> CIView | None:
        return self._cis.get(ci_id)

    def _reach(self, ci_id: str, upstream: bool) -> Reach:
        key = (ci_id, upstream)
        if key not in self._cache:
            self._cache[key] = walk(
                ci_id, lambda ids: [e for i in ids for e in
                                    (self._out if upstream else self._in).get(i, [])],
                lambda ids: [e for i in ids for e in self._out.get(i, [])], upstream)
        return self._cache[key]

    def upstream(self, ci_id: str) -> Reach:
        return self._reach(ci_id, True)

    def downstream(self, ci_id: str) -> Reach:
        return self._reach(ci_id, False)

    def impact_facts(self, ci_id: str) -> ImpactFacts:
        return facts(self.downstream(ci_id), self._cis)


class StoreGraphView:
    """A `GraphView` reading a `GraphStore`, one round trip per walk level, cached for
    the life of the view (one evaluation)."""

    def __init__(self, store: GraphStore, known: Iterable[ConfigurationItem] = ()) -> None:
        self._store = store
        # CIs written in the caller's still-open transaction, which other sessions of
        # the store cannot see yet.
        self._cis: dict[str, CIView | None] = {c.id: _view_of(c) for c in known}
        self._reaches: dict[tuple[str, bool], Reach] = {}

    def ci(self, ci_id: str) -> CIView | None:
        if ci_id not in self._cis:
            found = self._store.get_cis([ci_id]).get(ci_id)
            self._cis[ci_id] = None if found is None else CIView(
                found.id, found.ci_class, found.name, found.attributes,
                *_groups(self._store, found.id))
        return self._cis[ci_id]

    def _reach(self, ci_id: str, upstream: bool) -> Reach:
        key = (ci_id, upstream)
        if key not in self._reaches:
            # "upstream" here is what the CI depends on: follow edges out of it.
            self._reaches[key] = walk(
                ci_id, lambda ids: self._store.impact_edges(ids, upstream=not upstream),
                lambda ids: self._store.impact_edges(ids, upstream=False), upstream)
        return self._reaches[key]

    def upstream(self, ci_id: str) -> Reach:
        return self._reach(ci_id, True)

    def downstream(self, ci_id: str) -> Reach:
        return self._reach(ci_id, False)

    def impact_facts(self, ci_id: str) -> ImpactFacts:
        reach = self.downstream(ci_id)
        services = [c for c, b in self._store.ci_briefs(list(reach.depths)).items()
                    if b.ci_class == "BusinessService"]
        cis = {c.id: CIView(c.id, c.ci_class, c.name, c.attributes)
               for c in self._store.get_cis(services).values()}
        return facts(reach, cis)


def _view_of(ci: ConfigurationItem) -> CIView:
    return CIView(ci.id, ci.ci_class, ci.name, ci.attributes)


def _groups(store: GraphStore, ci_id: str) -> tuple[str | None, str | None]:
    """Names of the CI's owner and support group (OWNED_BY / SUPPORTED_BY targets)."""
    targets = {r.type: r.to_id for r in store.edges_out_of([ci_id], ["OWNED_BY",
                                                                     "SUPPORTED_BY"])}
    names = store.ci_briefs(list(targets.values()))
    owner, support = targets.get("OWNED_BY"), targets.get("SUPPORTED_BY")
    return (names[owner].name if owner in names else None,
            names[support].name if support in names else None)


def walk(origin: str, expand: object, out_edges: object, upstream: bool) -> Reach:
    """BFS to `DEPTH` levels; `expand(ids)` gives the edges to follow from a level,
    `out_edges(ids)` the outgoing edges of the CIs reached (for redundancy)."""
    depths, via, frontier = {origin: 0}, {}, [origin]
    for level in range(1, DEPTH + 1):
        if not frontier:
            break
        next_frontier = []
        for edge in sorted(expand(frontier), key=lambda e: (e.from_id, e.type, e.to_id)):  # type: ignore[operator]
            reached = edge.to_id if upstream else edge.from_id
            if reached not in depths:
                depths[reached] = level
                via[reached] = edge
                next_frontier.append(reached)
        frontier = next_frontier
    edges_of: dict[str, list[ImpactEdge]] = {}
    for edge in out_edges(list(depths)):  # type: ignore[operator]
        edges_of.setdefault(edge.from_id, []).append(edge)
    return Reach(origin, depths, via, edges_of)


def facts(downstream: Reach, cis: Mapping[str, CIView]) -> ImpactFacts:
    status = propagate({downstream.origin}, list(downstream.depths), downstream.edges_of)
    services = []
    for ci_id in sorted(downstream.depths):
        ci = cis.get(ci_id)
        if ci is not None and ci.ci_class == "BusinessService" and ci_id in status:
            users = ci.attributes.get("users")
            criticality = ci.attributes.get("criticality")
            services.append(ServiceImpact(
                ci.name, str(criticality) if criticality is not None else None,
                status[ci_id], users if isinstance(users, int) else None))
    return ImpactFacts(tuple(services), len(downstream.depths) - 1,
                       sum(s.users or 0 for s in services))
