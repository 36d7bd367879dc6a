"""A synthetic estate for benchmarks: sites -> core/access switches -> PCs and
printers; servers -> applications (on redundant database pairs) -> business services;
people and groups owning and supporting them. Deterministic for a given size."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

from cmdb.relations import Link
from collector.observation import Inventory


@dataclass(frozen=True, slots=True)
class Node:
    ref: str
    inventory: Inventory


@dataclass(frozen=True, slots=True)
class Edge:
    from_ref: str
    type: str
    to_ref: str
    properties: dict[str, str]

    def link(self, ids: dict[str, str]) -> Link:
        return Link(ids[self.from_ref], self.type, ids[self.to_ref], self.properties)


def _mac(n: int) -> str:
    return "00:16:" + ":".join(f"{(n >> s) & 0xFF:02x}" for s in (24, 16, 8, 0))


def _host(ref: str, cls: str, n: int, source: str = "agent") -> Node:
    identity = {"hostname": ref, "macs": [_mac(n)], "serial": f"SN{n:09d}"}
    return Node(ref, Inventory(source, cls, identity, {"hostname": ref, "macs": [_mac(n)],
                                                        "serial": f"SN{n:09d}"}))


def _named(ref: str, cls: str, **attributes: object) -> Node:
    name = ref.split("/", 1)[1]
    return Node(ref, Inventory("import", cls, {"name": name}, {"name": name, **attributes}))


def estate(total_cis: int = 100_000, seed: int = 7) -> tuple[list[Node], list[Edge]]:
    """About `total_cis` CIs and three relationships per CI."""
    rng = random.Random(seed)
    scale = total_cis / 100_000
    sites = max(2, round(50 * scale))
    access_per_site = 20
    pcs, printers = round(80_000 * scale), round(5_000 * scale)
    servers, apps = round(8_000 * scale), round(4_000 * scale)
    services, people = round(500 * scale), round(1_000 * scale)
    groups = max(1, round(400 * scale))
    nodes: list[Node] = []
    edges: list[Edge] = []
    counter = iter(range(1, 10_000_000))
    for s in range(sites):
        nodes.append(_named(f"Location/site-{s}", "Location"))
        core = f"core-{s}"
        nodes.append(_host(core, "NetworkDevice", next(counter), "snmp"))
        edges.append(Edge(core, "LOCATED_IN", f"Location/site-{s}", {}))
        for a in range(access_per_site):
            access = f"access-{s}-{a}"
            nodes.append(_host(access, "NetworkDevice", next(counter), "snmp"))
            edges.append(Edge(access, "CONNECTED_TO", core, {"port": f"Te1/0/{a + 1}"}))
            edges.append(Edge(access, "LOCATED_IN", f"Location/site-{s}", {}))
    nodes.extend(_named(f"Person/person-{p}", "Person") for p in range(people))
    nodes.extend(_named(f"Group/group-{g}", "Group") for g in range(groups))
    for kind, count, cls in (("pc", pcs, "Computer"), ("printer", printers, "Printer")):
        for i in range(count):
            ref = f"{kind}-{i}"
            s, a = rng.randrange(sites), rng.randrange(access_per_site)
            nodes.append(_host(ref, cls, next(counter), "agent" if kind == "pc" else "snmp"))
            edges.append(Edge(ref, "CONNECTED_TO", f"access-{s}-{a}", {"port": f"Gi1/0/{i % 48}"}))
            edges.append(Edge(ref, "LOCATED_IN", f"Location/site-{s}", {}))
            if kind == "pc":
                edges.append(Edge(ref, "OWNED_BY", f"Person/person-{rng.randrange(people)}", {}))
    for i in range(servers):
        ref, s = f"srv-{i}", rng.randrange(sites)
        nodes.append(_host(ref, "Server", next(counter)))
        edges.append(Edge(ref, "CONNECTED_TO", f"core-{s}", {"port": f"Gi2/0/{i % 48}"}))
        edges.append(Edge(ref, "LOCATED_IN", f"Location/site-{s}", {}))
    for i in range(apps):
        ref = f"Application/app-{i}"
        nodes.append(_named(ref, "Application"))
        edges.append(Edge(ref, "RUNS_ON", f"srv-{rng.randrange(servers)}", {}))
        pair = rng.randrange(servers - 1)
        for db in (pair, pair + 1):
            edges.append(Edge(ref, "DEPENDS_ON", f"srv-{db}", {"redundancy_group": f"db-{i}"}))
        edges.append(Edge(ref, "SUPPORTED_BY", f"Group/group-{rng.randrange(groups)}", {}))
    for i in range(services):
        ref = f"BusinessService/service-{i}"
        nodes.append(_named(ref, "BusinessService", criticality=rng.choice(
            ["low", "medium", "high"]), users=rng.randrange(10, 5000)))
        for app in rng.sample(range(apps), 3):
            edges.append(Edge(ref, "DEPENDS_ON", f"Application/app-{app}", {}))
        edges.append(Edge(ref, "OWNED_BY", f"Group/group-{rng.randrange(groups)}", {}))
    return nodes, edges


T = TypeVar("T")


def batches(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
