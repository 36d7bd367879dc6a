"""A simulated office of hundreds of SNMP devices on loopback addresses, for the
scale and discovery benchmarks.

Every device is its own endpoint (127.0.1.1, 127.0.1.2, ... on one UDP port), served
by one of several snmpsim processes; each process simulates one recording (its data
directory holds that recording as ``public.snmprec``), so a sweep with one community
finds a mix of printers and switches. The CPU of the simulators is read from
/proc/<pid>/stat, to tell what bounded a cycle's wall time.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.snmp_exporter import process_cpu_seconds

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "snmp"
COMMUNITY = "public"
FIRST_ADDRESS = ipaddress.IPv4Address("127.0.1.1")
# 2 mono printers : 2 colour printers : 1 switch, one snmpsim process each share
MIX = ("printer-mono-laser", "printer-colour-mfp", "printer-mono-laser",
       "printer-colour-mfp", "switch-48-port")


@dataclass(frozen=True)
class Fleet:
    port: int
    devices: list[tuple[str, str]]  # (address, recording)
    pids: list[int]

    def simulator_cpu(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.pids)


def free_udp_port_everywhere(addresses: list[str]) -> int:
    """A port free on 127.0.0.1 and on a sample of the fleet's addresses."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        try:
            for address in addresses[:: max(1, len(addresses) // 8)]:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.bind((address, port))
            return port
        except OSError:
            continue


def fleet_addresses(count: int) -> list[str]:
    """`count` consecutive loopback addresses from 127.0.1.1, skipping .0 and .255."""
    found: list[str] = []
    address = FIRST_ADDRESS
    while len(found) < count:
        if address.packed[-1] not in (0, 255):
            found.append(str(address))
        address += 1
    return found


@contextmanager
def running_fleet(devices: int, workdir: Path) -> Iterator[Fleet]:
    """`devices` simulated devices, spread over len(MIX) snmpsim processes."""
    binary = Path(sys.executable).parent / "snmpsim-command-responder"
    addresses = fleet_addresses(devices)
    port = free_udp_port_everywhere(addresses)
    groups: list[list[str]] = [addresses[i:: len(MIX)] for i in range(len(MIX))]
    processes: list[subprocess.Popen[bytes]] = []
    placed: list[tuple[str, str]] = []
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    try:
        for number, (recording, group) in enumerate(zip(MIX, groups, strict=True)):
            home = workdir / f"sim{number}"
            (home / "data").mkdir(parents=True)
            shutil.copyfile(DATA / f"{recording}.snmprec", home / "data" / f"{COMMUNITY}.snmprec")
            listen = [f"--agent-udpv4-endpoint={address}:{port}" for address in group]
            processes.append(subprocess.Popen(
                [str(binary), f"--data-dir={home / 'data'}", f"--cache-dir={home / 'cache'}",
                 *listen, "--logging-method=null"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
            placed += [(address, recording) for address in group]
        for process, group in zip(processes, groups, strict=True):
            _wait_answering(process, group[-1], port, 120)
        order = {address: n for n, address in enumerate(addresses)}
        placed.sort(key=lambda device: order[device[0]])
        yield Fleet(port, placed, [p.pid for p in processes])
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _get_sysuptime(community: str) -> bytes:
    def tlv(tag: int, body: bytes) -> bytes:
        return bytes([tag, len(body)]) + body

    varbind = tlv(0x30, tlv(0x06, bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])) + b"\x05\x00")
    pdu = tlv(0xA0, tlv(0x02, b"\x01") * 1 + tlv(0x02, b"\x00") + tlv(0x02, b"\x00")
              + tlv(0x30, varbind))
    return tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, community.encode()) + pdu)


def _wait_answering(process: subprocess.Popen[bytes], address: str, port: int,
                    seconds: float) -> None:
    request = _get_sysuptime(COMMUNITY)
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.25)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"snmpsim exited with {process.returncode}")
            sock.sendto(request, (address, port))
            try:
                sock.recvfrom(4096)
                return
            except TimeoutError:
                continue
    raise SystemExit(f"snmpsim on {address}:{port} did not answer in {seconds}s")
