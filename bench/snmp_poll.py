"""CPU the SNMP poller spends per device, against Debian's prometheus-snmp-exporter
(Go) on the same recordings; a 500-device poll cycle; a discovery sweep of a /22.

    .venv/bin/python -m bench.snmp_poll [--rounds 20] [--scrapes 20] [--fleet 500]
        [--concurrency 64] [--sweep-concurrency 64]

1. Per device: snmpsim (PyPI ``snmpsim``) serves the recordings in tests/data/snmp/;
   each is polled `rounds` times one after another. CPU is this process's own
   user+system time (resource.getrusage RUSAGE_SELF): the simulator is not counted.
2. The exporter (``apt-get install prometheus-snmp-exporter``; skipped if absent),
   with modules asking the same objects (bench/snmp_exporter.py), scrapes the same
   simulator `scrapes` times per recording; its CPU is read from /proc/<pid>/stat.
   Ratios are poller CPU / exporter CPU per device.
3. Scale: `fleet` devices on their own loopback addresses (127.0.1.1...), spread
   over five snmpsim processes (bench/snmp_fleet.py), polled in one cycle with at
   most `concurrency` devices in flight: wall time, poller and simulator CPU, what
   bounded the wall time, device polls per core-minute.
4. Discovery: a sweep of 127.0.0.0/22 (1022 addresses) in which the fleet answers.

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.snmp_exporter import measure_exporter
from bench.snmp_fleet import COMMUNITY, Fleet, running_fleet
from collector.snmp.credentials import CommunityCredentials
from collector.snmp.discovery import Sweeper, endpoints
from collector.snmp.errors import Reachability
from collector.snmp.oids import Oid
from collector.snmp.poller import SnmpPoller
from collector.snmp.session import SnmpClient, SnmpSession, Target
from collector.snmp.snapshot import VarBind

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "snmp"
DEVICES = ("printer-mono-laser", "printer-colour-mfp", "switch-48-port")
TARGET_CPU_MS = {"printer-mono-laser": 30.0, "printer-colour-mfp": 30.0, "switch-48-port": 60.0}


class CountingReader:
    """Counts the steps a poll takes (a GET, a GETNEXT, or one whole walk) and the
    objects they bring back."""

    def __init__(self, session: SnmpSession, counter: list[int]) -> None:
        self._session, self._counter = session, counter

    async def get(self, oids: Sequence[Oid]) -> list[VarBind]:
        return self._count(await self._session.get(oids))

    async def get_next(self, oids: Sequence[Oid]) -> list[VarBind]:
        return self._count(await self._session.get_next(oids))

    async def walk(self, root: Oid) -> list[VarBind]:
        return self._count(await self._session.walk(root))

    async def walk_columns(self, columns: Sequence[Oid]) -> list[VarBind]:
        return self._count(await self._session.walk_columns(columns))

    def _count(self, varbinds: list[VarBind]) -> list[VarBind]:
        self._counter[0] += 1
        self._counter[1] += len(varbinds)
        return varbinds


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_simulator(port: int, cache: str) -> subprocess.Popen[bytes]:
    binary = Path(sys.executable).parent / "snmpsim-command-responder"
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    return subprocess.Popen(
        [str(binary), f"--data-dir={DATA}", f"--cache-dir={cache}",
         f"--agent-udpv4-endpoint=127.0.0.1:{port}", "--logging-method=null"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(poller: SnmpPoller, target: Target, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (await poller.poll(target)).reachability is Reachability.REACHABLE:
            return
    raise SystemExit("snmpsim did not answer")


async def measure(port: int, rounds: int, fleet: int) -> dict[str, object]:
    counter = [0, 0]
    async with SnmpClient() as client:
        async def reader(target: Target) -> CountingReader:
            return CountingReader(await client.session(target), counter)

        poller = SnmpPoller(reader, max_concurrency=32)
        targets = {name: Target("127.0.0.1", CommunityCredentials(name), port=port)
                   for name in DEVICES}
        await wait_ready(poller, targets["printer-mono-laser"], 60)
        for target in targets.values():  # warm-up: first use loads pysnmp's base MIBs
            await poller.poll(target)
        per_device: dict[str, object] = {}
        for name, target in targets.items():
            counter[0] = counter[1] = 0
            cpu, wall = cpu_seconds(), time.perf_counter()
            results = [await poller.poll(target) for _ in range(rounds)]
            cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
            assert all(r.reachability is Reachability.REACHABLE for r in results)
            per_device[name] = {
                "cpu_ms_per_poll": round(1000 * cpu / rounds, 2),
                "wall_ms_per_poll": round(1000 * wall / rounds, 2),
                "steps_per_poll": counter[0] / rounds,
                "objects_per_poll": counter[1] / rounds,
                "samples": len(results[-1].samples),
                "relations": len(results[-1].relations),
            }
        mixed = [targets[DEVICES[n % len(DEVICES)]] for n in range(fleet)]
        cpu, wall = cpu_seconds(), time.perf_counter()
        results = await poller.poll_many(mixed)
        cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    return {
        "rounds": rounds,
        "per_device": per_device,
        "concurrent_fleet": {
            "devices": fleet,
            "reachable": sum(r.reachability is Reachability.REACHABLE for r in results),
            "cpu_s": round(cpu, 3),
            "wall_s": round(wall, 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--fleet", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sweep-concurrency", type=int, default=64)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        simulator = start_simulator(port, workdir)
        try:
            figures = asyncio.run(measure(port, args.rounds, 30))
            exporter = measure_exporter(port, Path(workdir), args.scrapes)
        finally:
            simulator.terminate()
            simulator.wait(timeout=10)
        figures["exporter"] = exporter or {"skipped": "prometheus-snmp-exporter not installed"}
        figures["ratios"] = ratios(figures["per_device"], exporter)  # type: ignore[arg-type]
        figures["targets"] = targets_met(figures["per_device"])  # type: ignore[arg-type]
        with running_fleet(args.fleet, Path(workdir)) as fleet:
            figures["scale"] = asyncio.run(poll_cycle(fleet, args.concurrency))
            figures["discovery"] = asyncio.run(sweep_22(fleet, args.sweep_concurrency))
    print(json.dumps({"benchmark": "snmp_poll", "cpus": os.cpu_count(), **figures}, indent=2))


def ratios(per_device: dict[str, dict[str, float]], exporter: dict[str, object] | None
           ) -> dict[str, float]:
    """Poller CPU per poll / exporter CPU per scrape, per recording."""
    if not exporter:
        return {}
    found = {}
    for name, figures in per_device.items():
        scrape = exporter.get(name)
        if isinstance(scrape, dict) and scrape.get("cpu_ms_per_scrape"):
            found[name] = round(figures["cpu_ms_per_poll"] / scrape["cpu_ms_per_scrape"], 1)
    return found


def targets_met(per_device: dict[str, dict[str, float]]) -> dict[str, object]:
    return {name: {"target_cpu_ms": target, "cpu_ms": per_device[name]["cpu_ms_per_poll"],
                   "met": per_device[name]["cpu_ms_per_poll"] <= target}
            for name, target in TARGET_CPU_MS.items()}


async def poll_cycle(fleet: Fleet, concurrency: int) -> dict[str, object]:
    """Every device of the fleet polled once, `concurrency` at a time."""
    targets = [Target(address, CommunityCredentials(COMMUNITY), port=fleet.port, timeout=5.0,
                      retries=1) for address, _ in fleet.devices]
    async with SnmpClient() as client:
        poller = SnmpPoller.over(client, max_concurrency=concurrency)
        await poller.poll(targets[0])  # warm-up: pysnmp's base MIBs
        machine_before = machine_times()
        sim_cpu, cpu, wall = fleet.simulator_cpu(), cpu_seconds(), time.perf_counter()
        results = await poller.poll_many(targets)
        wall = time.perf_counter() - wall
        cpu, sim_cpu = cpu_seconds() - cpu, fleet.simulator_cpu() - sim_cpu
    cores = os.cpu_count() or 1
    ours = (cpu + sim_cpu) / (wall * cores)
    machine = machine_busy(machine_before, machine_times())
    busiest = max(sim_cpu / len(fleet.pids) / wall, cpu / wall)
    if machine >= 0.85:
        bound = (f"CPU: the {cores} cores were {machine:.0%} busy (poller + simulators "
                 f"{ours:.0%}, other processes on the machine the rest)")
    elif busiest >= 0.9:
        bound = "one single-threaded process at 100 % of a core"
    else:
        bound = "request latency at this concurrency (no process saturated)"
    kinds: dict[str, int] = {}
    for _, recording in fleet.devices:
        kinds[recording] = kinds.get(recording, 0) + 1
    return {
        "devices": len(targets), "mix": kinds, "concurrency": concurrency,
        "reachable": sum(r.reachability is Reachability.REACHABLE for r in results),
        "wall_s": round(wall, 2), "poller_cpu_s": round(cpu, 2),
        "simulator_cpu_s": round(sim_cpu, 2), "simulator_processes": len(fleet.pids),
        "poller_cpu_ms_per_device": round(1000 * cpu / len(targets), 2),
        "our_processes_cpu_share": round(ours, 2), "machine_cpu_busy": round(machine, 2),
        "bounded_by": bound,
        "device_polls_per_core_minute": round(len(targets) / (cpu / 60)),
        "device_polls_per_minute_wall": round(len(targets) / (wall / 60)),
    }


def machine_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def machine_busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    return (after[0] - before[0]) / max(1, after[1] - before[1])


SWEEP_TIMEOUT = 3.0


async def sweep_22(fleet: Fleet, concurrency: int) -> dict[str, object]:
    """Discovery of 127.0.0.0/22 on the fleet's port: the fleet answers, the rest of
    the addresses time out (`SWEEP_TIMEOUT`, no retry: five single-threaded
    simulators answer 500 endpoints, far slower than 500 real agents would)."""
    where = endpoints(["127.0.0.0/22"], [fleet.port])
    async with SnmpClient() as client:
        sweeper = Sweeper(client.session, [CommunityCredentials(COMMUNITY)],
                          concurrency=concurrency, timeout=SWEEP_TIMEOUT, retries=0)
        sim_cpu, cpu, wall = fleet.simulator_cpu(), cpu_seconds(), time.perf_counter()
        result = await sweeper.sweep(where)
        wall = time.perf_counter() - wall
        cpu, sim_cpu = cpu_seconds() - cpu, fleet.simulator_cpu() - sim_cpu
    return {
        "network": "127.0.0.0/22", "port": fleet.port, "endpoints": len(where),
        "answered": len(result.found), "kinds": dict(result.kinds()),
        "no_answer": dict(result.failures), "concurrency": concurrency, "timeout_s": SWEEP_TIMEOUT,
        "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "simulator_cpu_s": round(sim_cpu, 2),
        "cpu_ms_per_endpoint": round(1000 * cpu / len(where), 2),
    }


if __name__ == "__main__":
    main()
