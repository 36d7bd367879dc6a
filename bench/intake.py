"""Intake throughput of `POST /v1/reports` through a real uvicorn server; prints JSON.

One server process (`opsgraph serve`'s app on uvicorn, production rules from
`etc/rules.yaml`) per store — the embedded SQLite store, and Neo4j when `--neo4j`
names one — loaded by client processes, each with threads keeping one HTTP/1.1
connection apiece. Agents report like `opsgraph-agent`: gzip'd JSON, 40 metrics
(the server adds the heartbeat), the inventory in each agent's first report only;
each agent has its own token and reports from one thread at a time. `/healthz`,
measured the same way in the same run, is the ceiling of the server and client
stack; `ratio` is reports/s over healthz/s. The server's own CPU time per request
(from /proc) gives what one process would do with a core to itself, which matters
when the clients share the machine. Target: >= 1,000 reports/s per server process
(15,000 agents at a 15 s interval).

    .venv/bin/python -m bench.intake [--seconds 8] [--processes 2] [--threads 8]
        [--agents 256] [--neo4j bolt://127.0.0.1:17691 --wipe-neo4j]

`--wipe-neo4j` is required with `--neo4j`: the run deletes everything in that
database first.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "reports" / "pc-0042.json"
RULES = ROOT / "etc" / "rules.yaml"
TARGET = 1000.0
BATCH = 25


def report_template() -> dict[str, Any]:
    """A realistic report: 40 metrics of a busy 8-thread server with four filesystems."""
    report: dict[str, Any] = json.loads(SAMPLE.read_text())
    metrics: list[dict[str, Any]] = [
        {"name": "host.cpu.utilization", "value": 31.0, "unit": "percent",
         "labels": {"cpu": "total"}},
        *({"name": "host.cpu.utilization", "value": 20.0 + n, "unit": "percent",
           "labels": {"cpu": str(n)}} for n in range(8)),
        {"name": "host.memory.used", "value": 63.0, "unit": "percent", "labels": {}},
        {"name": "host.memory.available", "value": 6.0e9, "unit": "bytes", "labels": {}},
        {"name": "host.cpu.iowait", "value": 1.2, "unit": "percent", "labels": {}},
        {"name": "host.swap.used", "value": 2.0, "unit": "percent", "labels": {}},
        *({"name": f"host.load.{m}", "value": 1.5, "unit": "load", "labels": {}}
          for m in ("1m", "5m", "15m")),
        {"name": "host.uptime", "value": 273528.0, "unit": "seconds", "labels": {}},
        {"name": "host.processes", "value": 312.0, "unit": "count", "labels": {}},
    ]
    for mount in ("/", "/var", "/home", "/srv"):
        metrics += [{"name": "host.filesystem.used", "value": 55.0, "unit": "percent",
                     "labels": {"mountpoint": mount}},
                    {"name": "host.filesystem.inodes_used", "value": 8.0, "unit": "percent",
                     "labels": {"mountpoint": mount}}]
    for disk in ("nvme0n1", "sda"):
        metrics += [{"name": f"host.disk.{what}", "value": 1.0e6, "unit": "bytes_per_second",
                     "labels": {"device": disk}} for what in ("read", "write")]
        metrics.append({"name": "host.disk.busy", "value": 12.0, "unit": "percent",
                        "labels": {"device": disk}})
    for nic in ("eno1", "eno2"):
        metrics += [{"name": f"host.network.{what}", "value": 2.0e5, "unit": "bytes_per_second",
                     "labels": {"interface": nic}} for what in ("rx", "tx")]
        metrics += [{"name": f"host.network.{what}_errors", "value": 0.0, "unit": "per_second",
                     "labels": {"interface": nic}} for what in ("rx", "tx")]
    assert len(metrics) == 40, len(metrics)
    report["metrics"] = metrics
    return report


def agent_report(template: dict[str, Any], agent: str, report_id: str,
                 with_inventory: bool) -> bytes:
    report = {**template, "agent_id": agent, "report_id": report_id,
              "collected_at": datetime.now(UTC).isoformat()}
    if with_inventory:
        inventory = copy.deepcopy(template["inventory"])
        inventory["hostname"], inventory["fqdn"] = agent, f"{agent}.corp.example"
        inventory["hardware"]["serial"] = f"SN{agent.upper()}"
        inventory["hardware"]["uuid"] = None
        inventory["nics"] = []
        report["inventory"] = inventory
    else:
        report.pop("inventory", None)
    return gzip.compress(json.dumps(report).encode(), compresslevel=6)


# -- the server ---------------------------------------------------------------------

def serve(store_url: str, port: int) -> None:
    """Run in the server subprocess: the production app on uvicorn, one process."""
    import uvicorn

    from api.app import create_app
    from api.settings import ServerSettings

    settings = ServerSettings(store_url=store_url, rules_file=RULES, log_level="warning",
                              intake_max_in_flight=10_000)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` and its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(store_url: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.intake", "--serve", store_url, "--port", str(port)],
        cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server for {store_url} did not start")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def prepare(store_url: str, agents: int) -> dict[str, str]:
    """Fresh tokens, one per agent."""
    from api.auth import issue_token
    from cmdb.connect import connect

    store = connect(store_url)
    try:
        now = datetime.now(UTC)
        return {f"bench-{n:05d}": issue_token(store, "agent", f"bench {n}", now,
                                              f"bench-{n:05d}") for n in range(agents)}
    finally:
        store.close()


# -- the clients --------------------------------------------------------------------

def client_process(base: str, kind: str, tokens: dict[str, str], seconds: float,
                   threads: int, first: bool) -> tuple[list[float], int]:
    """One client process: `threads` threads, each with its own agents and connection,
    posting until the deadline (or, with `first`, one inventory report per agent)."""
    template = report_template()
    agents = sorted(tokens)
    shares = [agents[n::threads] for n in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    deadline = time.monotonic() + seconds

    def run(slot: int) -> None:
        mine = shares[slot]
        with httpx.Client(base_url=base, timeout=30) as client:
            sent = 0
            while mine and ((first and sent < len(mine)) or
                            (not first and time.monotonic() < deadline)):
                agent = mine[sent % len(mine)]
                started = time.perf_counter()
                if kind == "healthz":
                    answer = client.get("/healthz")
                elif kind == "batch":  # an agent's backlog: BATCH reports in one POST
                    reports = [json.loads(gzip.decompress(agent_report(
                        template, agent, f"{agent}-{os.getpid()}-{slot}-{sent}-{n}", False)))
                        for n in range(BATCH)]
                    body = gzip.compress(json.dumps({"reports": reports}).encode())
                    answer = client.post("/v1/reports", content=body, headers={
                        "Authorization": f"Bearer {tokens[agent]}",
                        "Content-Type": "application/json", "Content-Encoding": "gzip"})
                else:
                    body = agent_report(template, agent, f"{agent}-{os.getpid()}-{slot}-{sent}",
                                        with_inventory=first)
                    answer = client.post("/v1/reports", content=body, headers={
                        "Authorization": f"Bearer {tokens[agent]}",
                        "Content-Type": "application/json", "Content-Encoding": "gzip"})
                latencies[slot].append(time.perf_counter() - started)
                if answer.status_code >= 300:
                    errors[slot] += 1
                sent += 1

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [x for slot in latencies for x in slot], sum(errors)


def load(base: str, pid: int, kind: str, tokens: dict[str, str], args: argparse.Namespace,
         first: bool = False) -> dict[str, Any]:
    agents = sorted(tokens)
    cpu_before = cpu_seconds(pid)
    parts = [{a: tokens[a] for a in agents[n::args.processes]} for n in range(args.processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        results = pool.starmap(client_process, [
            (base, kind, part, args.seconds, args.threads, first) for part in parts])
    elapsed = time.perf_counter() - started if first else args.seconds
    latencies = sorted(x for lat, _ in results for x in lat)
    server_cpu = cpu_seconds(pid) - cpu_before
    return {
        "requests": len(latencies), "errors": sum(e for _, e in results),
        "per_second": round(len(latencies) / elapsed, 1),
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, len(latencies)), 3),
        "server_cpu_share": round(server_cpu / elapsed, 2),
        "latency_ms": {"p50": round(1000 * statistics.median(latencies), 2),
                       "p99": round(1000 * latencies[int(len(latencies) * 0.99)], 2)}
        if latencies else None,
    }


def run_store(store_url: str, args: argparse.Namespace) -> dict[str, Any]:
    tokens = prepare(store_url, args.agents)
    with server(store_url) as (base, pid):
        inventory = load(base, pid, "reports", tokens, args, first=True)  # CIs created
        healthz = load(base, pid, "healthz", tokens, args)
        reports = load(base, pid, "reports", tokens, args)
        batches = load(base, pid, "batch", tokens, args)
    per_core = 1000 / reports["server_cpu_ms_per_request"]
    return {
        "store": "sqlite" if store_url.startswith("sqlite") else "neo4j",
        "first_reports_with_inventory": inventory,
        "healthz": healthz, "reports": reports,
        "reports_per_s": reports["per_second"],
        "ratio_to_healthz": round(reports["per_second"] / healthz["per_second"], 3),
        # What one server process would do with a core to itself (clients elsewhere).
        "projected_reports_per_s_per_core": round(per_core, 1),
        "meets_target": reports["per_second"] >= TARGET,
        # Agents with a backlog (after an outage, or batching) send BATCH reports a POST.
        "batched": {**batches, "reports_per_request": BATCH,
                    "reports_per_s": round(batches["per_second"] * BATCH, 1),
                    "projected_reports_per_s_per_core": round(
                        1000 * BATCH / batches["server_cpu_ms_per_request"], 1),
                    "meets_target": batches["per_second"] * BATCH >= TARGET},
    }


def wipe_neo4j(url: str) -> None:
    from cmdb.connect import connect

    store = connect(url)
    try:
        store.write(lambda tx: tx.run("MATCH (n) DETACH DELETE n", {}))
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--agents", type=int, default=256)
    parser.add_argument("--neo4j", help="bolt:// URL of a Neo4j to measure too")
    parser.add_argument("--wipe-neo4j", action="store_true")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    if args.neo4j and not args.wipe_neo4j:
        parser.error("--neo4j deletes everything in that database: add --wipe-neo4j")
    import uvicorn

    figures: dict[str, Any] = {
        "benchmark": "intake", "target_reports_per_s": TARGET, "cpus": os.cpu_count(),
        "metrics_per_report": 40, "clients": {"processes": args.processes,
                                              "threads_each": args.threads},
        "agents": args.agents, "seconds": args.seconds, "uvicorn": uvicorn.__version__,
        "uvloop_httptools": all(_importable(m) for m in ("uvloop", "httptools")),
        "stores": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        figures["stores"].append(run_store(f"sqlite:///{tmp}/bench.db", args))
    if args.neo4j:
        wipe_neo4j(args.neo4j)
        figures["stores"].append(run_store(args.neo4j, args))
    print(json.dumps(figures, indent=2))
    return 0


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
