"""A harness for the pure core: an in-memory graph, an in-memory ledger, a clock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cmdb.records import Incident
from cmdb.store import ImpactEdge
from collector.observation import Observation
from rules.context import Decision, Policy, Route
from rules.engine import evaluate, tick
from rules.ledger import MemoryLedger
from rules.loader import parse_rules
from rules.view import CIView, MemoryGraph

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def star(switches: int, pcs_per_switch: int) -> tuple[list[CIView], list[ImpactEdge]]:
    """A core switch, access switches under it, PCs under each access switch."""
    cis = [CIView("core", "NetworkDevice", "core-sw")]
    edges = []
    for s in range(switches):
        cis.append(CIView(f"sw{s}", "NetworkDevice", f"access-{s}"))
        edges.append(ImpactEdge(f"sw{s}", "CONNECTED_TO", "core", None))
        for p in range(pcs_per_switch):
            cis.append(CIView(f"pc{s}-{p}", "Computer", f"pc-{s}-{p}"))
            edges.append(ImpactEdge(f"pc{s}-{p}", "CONNECTED_TO", f"sw{s}", None))
    return cis, edges


@dataclass
class Harness:
    rules_yaml: str
    cis: list[CIView]
    edges: list[ImpactEdge] = field(default_factory=list)
    policy: Policy = field(default_factory=lambda: Policy(
        route=lambda incident, ci: Route(("service-desk",), "Service Desk")))
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    decisions: list[Decision] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rules = parse_rules(self.rules_yaml)
        self.graph = MemoryGraph(self.cis, self.edges)

    def observe(self, observations: Iterable[Observation], now: datetime) -> list[Decision]:
        batch = evaluate(self.rules, list(observations), self.graph, self.ledger, self.policy,
                         now)
        self.ledger.commit()
        self.decisions.extend(batch)
        return batch

    def tick(self, now: datetime) -> list[Decision]:
        batch = tick(self.rules, self.graph, self.ledger, self.policy, now)
        self.ledger.commit()
        self.decisions.extend(batch)
        return batch

    def restart(self) -> None:
        self.ledger = self.ledger.restarted()
        self.graph = MemoryGraph(self.cis, self.edges)

    @property
    def incidents(self) -> list[Incident]:
        return sorted(self.ledger.incidents.values(), key=lambda i: i.opened_at)

    def open(self) -> list[Incident]:
        return [i for i in self.incidents if i.is_open]

    def sent(self, event: str | None = None) -> list[tuple[str, str, str]]:
        """(fingerprint, receiver, event) of every queued notification."""
        by_id = self.ledger.incidents
        return [(by_id[e.incident_id].fingerprint, e.receiver, e.event)
                for e in self.ledger.outbox if event is None or e.event == event]


def metric(ci: str, name: str, value: float, at: datetime, **labels: str) -> Observation:
    return Observation(ci_id=ci, name=name, value=value, unit="percent", observed_at=at,
                       source="test", labels=tuple(sorted(labels.items())))


def state(ci: str, name: str, value: str, at: datetime, **labels: str) -> Observation:
    return Observation(ci_id=ci, name=name, state=value, unit="state", observed_at=at,
                       source="test", labels=tuple(sorted(labels.items())))


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)
