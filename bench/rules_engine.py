"""Rules engine benchmark (the pure core, one process, one core). Prints JSON.

- throughput: 100 rules over 10,000 CIs, observations/s through `evaluate()`, in
  reports of 40 metrics (most healthy, some breaching, some pending);
- storm: 10,000 PCs behind 50 switches fail within 10 s (PC events mostly before their
  switch's); the time to process the events and then the hold-down tick that leaves
  50 root incidents with every PC attached, and the compression achieved.

    python -m bench.rules_engine
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from cmdb.store import ImpactEdge
from collector.observation import Observation
from rules.context import Policy, Route
from rules.engine import evaluate, tick
from rules.ledger import MemoryLedger
from rules.loader import parse_rules
from rules.view import CIView, MemoryGraph

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POLICY = Policy(route=lambda incident, ci: Route(("service-desk",), "Service Desk"))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def hundred_rules() -> str:
    lines = ["rules:"]
    for n in range(100):
        lines += [f"  - name: metric-{n}-high", f"    metric: host.m{n % 40}",
                  f"    when: '> {90 + n // 40}'", "    clear: '< 80'", "    for: 2m",
                  "    failure_mode: [device]", f"    scope: {{labels: {{band: b{n // 40}}}}}"]
    return "\n".join(lines) + "\n"


def throughput(cis: int = 10_000, reports_per_ci: int = 3) -> dict[str, Any]:
    rules = parse_rules(hundred_rules())
    graph = MemoryGraph([CIView(f"ci{n}", "Computer", f"host-{n}") for n in range(cis)], [])
    ledger = MemoryLedger()
    rng = random.Random(3)
    observations = 0
    started, cpu = time.perf_counter(), cpu_seconds()
    for round_ in range(reports_per_ci):
        at = T0 + timedelta(minutes=round_)
        for n in range(cis):
            hot = rng.random() < 0.02  # 2 % of hosts breach something
            report = [Observation(ci_id=f"ci{n}", name=f"host.m{m}", observed_at=at,
                                  source="agent", unit="percent",
                                  value=99.0 if hot and m == 0 else rng.uniform(5, 70),
                                  labels=(("band", f"b{m % 3}"), ("device", "sda")))
                      for m in range(40)]
            evaluate(rules, report, graph, ledger, POLICY, at)
            ledger.commit()
            observations += len(report)
    wall, used = time.perf_counter() - started, cpu_seconds() - cpu
    return {"rules": len(rules), "cis": cis, "observations": observations,
            "wall_seconds": round(wall, 2), "cpu_seconds": round(used, 2),
            "observations_per_second": round(observations / wall),
            "observations_per_cpu_second": round(observations / used),
            "incidents": len(ledger.incidents), "target_per_second": 50_000}


def storm(switches: int = 50, pcs_per_switch: int = 200) -> dict[str, Any]:
    rules = parse_rules("""
rules:
  - name: host-down
    kind: state
    metric: host.reachability
    states: [down]
    severity: critical
""")
    cis = [CIView("core", "NetworkDevice", "core")]
    edges = []
    for s in range(switches):
        cis.append(CIView(f"sw{s}", "NetworkDevice", f"sw-{s}"))
        edges.append(ImpactEdge(f"sw{s}", "CONNECTED_TO", "core", None))
        for p in range(pcs_per_switch):
            cis.append(CIView(f"pc{s}-{p}", "Computer", f"pc-{s}-{p}"))
            edges.append(ImpactEdge(f"pc{s}-{p}", "CONNECTED_TO", f"sw{s}", None))
    graph, ledger, rng = MemoryGraph(cis, edges), MemoryLedger(), random.Random(5)
    events = [(rng.uniform(0, 10), f"pc{s}-{p}") for s in range(switches)
              for p in range(pcs_per_switch)]
    events += [(rng.uniform(5, 10), f"sw{s}") for s in range(switches)]  # switches last-ish
    events.sort()
    started, cpu = time.perf_counter(), cpu_seconds()
    for second in range(10):  # one evaluation per second of events, as intake batches them
        batch = [Observation(ci_id=ci, name="host.reachability", state="down",
                             observed_at=T0 + timedelta(seconds=at), source="snmp")
                 for at, ci in events if second <= at < second + 1]
        evaluate(rules, batch, graph, ledger, POLICY, T0 + timedelta(seconds=second + 1))
        ledger.commit()
    intake_wall = time.perf_counter() - started
    release_started = time.perf_counter()
    tick(rules, graph, ledger, POLICY, T0 + timedelta(seconds=41))  # hold-down over
    ledger.commit()
    release_wall = time.perf_counter() - release_started
    roots = [i for i in ledger.incidents.values() if i.parent_id is None]
    children = [i for i in ledger.incidents.values() if i.parent_id is not None]
    tickets = [e for e in ledger.outbox if e.event == "opened"]
    return {"events": len(events), "incidents": len(ledger.incidents), "roots": len(roots),
            "children": len(children), "tickets": len(tickets),
            "events_per_ticket": round(len(events) / max(1, len(tickets)), 1),
            "process_events_seconds": round(intake_wall, 3),
            "release_after_hold_down_seconds": round(release_wall, 3),
            "cpu_seconds": round(cpu_seconds() - cpu, 3), "target_seconds": 5}


def main() -> int:
    json.dump({"throughput": throughput(), "storm": storm()}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
