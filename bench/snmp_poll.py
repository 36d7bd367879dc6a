"""CPU the SNMP poller spends per device, against simulated devices on 127.0.0.1.

    .venv/bin/python bench/snmp_poll.py [--rounds 20] [--fleet 60]

Starts snmpsim (PyPI ``snmpsim``) on a free local port with the recordings in
tests/data/snmp/, polls each device `rounds` times one after another, then a mixed
fleet of `fleet` devices concurrently, and prints JSON. CPU is this process's own
user+system time (resource.getrusage RUSAGE_SELF): the simulator runs in another
process and is not counted.
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

from collector.snmp.credentials import CommunityCredentials
from collector.snmp.errors import Reachability
from collector.snmp.oids import Oid
from collector.snmp.poller import SnmpPoller
from collector.snmp.session import SnmpClient, SnmpSession, Target
from collector.snmp.snapshot import VarBind

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "snmp"
DEVICES = ("printer-mono-laser", "printer-colour-mfp", "switch-48-port")


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
    parser.add_argument("--fleet", type=int, default=60)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as cache:
        simulator = start_simulator(port, cache)
        try:
            figures = asyncio.run(measure(port, args.rounds, args.fleet))
        finally:
            simulator.terminate()
            simulator.wait(timeout=10)
    print(json.dumps({"benchmark": "snmp_poll", **figures}, indent=2))


if __name__ == "__main__":
    main()
