"""CMDB benchmark: load a synthetic estate through the reconciliation path, then time
impact queries on each store against a plain-Python BFS floor. Prints JSON.

    python -m bench.cmdb_impact --cis 100000 --stores sqlite,neo4j \
        --neo4j-url bolt://127.0.0.1:17687
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.estate import Edge, Node, batches, estate
from cmdb.connect import connect
from cmdb.impact import IMPACT_TYPES, impact
from cmdb.reconcile import reconcile
from cmdb.relations import relate
from cmdb.store import GraphStore


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load(store: GraphStore, nodes: list[Node], edges: list[Edge], batch: int
         ) -> tuple[dict[str, str], dict[str, float]]:
    now = datetime.now(UTC)
    ids: dict[str, str] = {}
    started = time.perf_counter()
    for chunk in batches(nodes, batch):
        results = reconcile(store, [n.inventory for n in chunk], now)
        ids.update((n.ref, r.ci_id) for n, r in zip(chunk, results, strict=True))
    ci_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for group in batches(edges, batch):
        relate(store, [e.link(ids) for e in group], "import", now)
    rel_seconds = time.perf_counter() - started
    return ids, {
        "cis": len(nodes), "ci_seconds": round(ci_seconds, 2),
        "cis_per_second": round(len(nodes) / ci_seconds),
        "relationships": len(edges), "relationship_seconds": round(rel_seconds, 2),
        "relationships_per_second": round(len(edges) / rel_seconds),
    }


def python_floor(edges: list[Edge], ids: dict[str, str]) -> dict[str, list[str]]:
    """Reverse adjacency (dependency -> dependents) over impact-carrying types."""
    dependents: dict[str, list[str]] = {}
    for e in edges:
        if e.type in IMPACT_TYPES:
            dependents.setdefault(ids[e.to_ref], []).append(ids[e.from_ref])
    return dependents


def bfs(dependents: dict[str, list[str]], root: str, depth: int) -> int:
    seen, frontier = {root: 0}, deque([root])
    while frontier:
        node = frontier.popleft()
        if seen[node] >= depth:
            continue
        for other in dependents.get(node, ()):
            if other not in seen:
                seen[other] = seen[node] + 1
                frontier.append(other)
    return len(seen) - 1


def time_queries(run: Any, roots: list[str]) -> tuple[list[float], list[int]]:
    times, sizes = [], []
    for root in roots:
        started = time.perf_counter()
        sizes.append(run(root))
        times.append((time.perf_counter() - started) * 1000)
    return times, sizes


def summary(times: list[float], sizes: list[int]) -> dict[str, float]:
    return {"p50_ms": round(percentile(times, 0.5), 3), "p95_ms": round(percentile(times, 0.95), 3),
            "mean_affected": round(statistics.mean(sizes), 1)}


def wipe_neo4j(url: str) -> None:
    import neo4j

    with neo4j.GraphDatabase.driver(url) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
                    ).consume()


def bench_store(name: str, url: str, nodes: list[Node], edges: list[Edge], args: Any
                ) -> dict[str, Any]:
    if name == "neo4j":
        wipe_neo4j(url)
    store = connect(url)
    ids, loading = load(store, nodes, edges, args.batch)
    rng = random.Random(1)
    kinds = {
        "switch": [ids[n.ref] for n in nodes if n.ref.startswith(("core-", "access-"))],
        "leaf_pc": [ids[n.ref] for n in nodes if n.ref.startswith("pc-")],
        "server": [ids[n.ref] for n in nodes if n.ref.startswith("srv-")],
    }
    floor = python_floor(edges, ids)
    results: dict[str, Any] = {"load": loading}
    for kind, candidates in kinds.items():
        roots = [rng.choice(candidates) for _ in range(args.samples)]
        impact(store, roots[0], args.depth)  # warm caches and plans
        times, sizes = time_queries(lambda r: len(impact(store, r, args.depth).affected), roots)
        floor_times, floor_sizes = time_queries(lambda r: bfs(floor, r, args.depth), roots)
        store_figures, floor_figures = summary(times, sizes), summary(floor_times, floor_sizes)
        results[kind] = {
            "store": store_figures, "python_bfs": floor_figures,
            "p95_ratio_to_python_bfs": round(
                store_figures["p95_ms"] / max(floor_figures["p95_ms"], 1e-3), 1),
            "same_answers": sizes == floor_sizes,
        }
    store.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cis", type=int, default=100_000)
    parser.add_argument("--stores", default="sqlite,neo4j")
    parser.add_argument("--neo4j-url", default="bolt://127.0.0.1:17687")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    nodes, edges = estate(args.cis)
    output: dict[str, Any] = {"cis": len(nodes), "relationships": len(edges),
                              "depth": args.depth, "samples": args.samples}
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"sqlite": f"sqlite:///{Path(tmp) / 'bench.db'}", "neo4j": args.neo4j_url}
        for name in args.stores.split(","):
            output[name] = bench_store(name, urls[name], nodes, edges, args)
    json.dump(output, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
