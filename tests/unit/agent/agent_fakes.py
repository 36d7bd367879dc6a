"""Fakes for the agent's unit tests: a host source, a clock, a transport, a collector."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import TransportError
from agent.probes.source import (
    Battery,
    CpuTimes,
    DiskCounters,
    DiskUsage,
    MemoryUsage,
    NicAddress,
    NicCounters,
    NicStats,
    Partition,
    SensorReading,
    SwapUsage,
)
from agent.transport import HttpAnswer

DATA = Path(__file__).resolve().parents[2] / "data" / "agent"
FAKE_ROOT = DATA / "root"
BOOT_TIME = 1_795_000_000.0  # 2026-11-18T11:06:40Z


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self, wall: float = BOOT_TIME + 3600.0, mono: float = 1000.0) -> None:
        self.wall = wall
        self.mono = mono
        self.slept: list[float] = []

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


def nic_counters(sent: int = 0, recv: int = 0) -> NicCounters:
    return NicCounters(sent, recv, 0, 0, 0, 0, 0, 0)


@dataclass
class FakeHostSource:
    """A laptop: 4 cores, an SSD and an NVMe disk, Wi-Fi and loopback, sensors, a battery."""

    total: CpuTimes = field(default_factory=lambda: CpuTimes(1000.0, 800.0, 10.0, 0.0))
    cores: list[CpuTimes] = field(
        default_factory=lambda: [CpuTimes(250.0, 200.0, 2.5)] * 4
    )
    logical: int = 8
    physical: int = 4
    load: tuple[float, float, float] = (0.5, 0.75, 1.25)
    memory: MemoryUsage = field(
        default_factory=lambda: MemoryUsage(16_663_322_624, 8_000_000_000, 52.0)
    )
    swap: SwapUsage = field(default_factory=lambda: SwapUsage(2_000_000_000, 500_000_000, 25.0))
    partitions: list[Partition] = field(
        default_factory=lambda: [
            Partition("/dev/nvme0n1p2", "/", "ext4"),
            Partition("/dev/nvme0n1p2", "/var/lib/docker/bind", "ext4"),
            Partition("/dev/nvme0n1p1", "/boot/efi", "vfat"),
            Partition("/dev/loop3", "/snap/core/17", "squashfs"),
            Partition("/dev/sda1", "/data", "xfs"),
        ]
    )
    usage: dict[str, DiskUsage] = field(
        default_factory=lambda: {
            "/": DiskUsage(250_059_350_016, 178_042_257_211, 72_017_092_805, 71.2),
            "/boot/efi": DiskUsage(536_870_912, 6_291_456, 530_579_456, 1.2),
            "/data": DiskUsage(1_000_000_000_000, 900_000_000_000, 100_000_000_000, 90.0),
        }
    )
    disks: dict[str, DiskCounters] = field(
        default_factory=lambda: {
            "nvme0n1": DiskCounters(1_000_000, 2_000_000, 100, 200, 5_000),
            "nvme0n1p1": DiskCounters(10, 10, 1, 1, 1),
            "sda": DiskCounters(0, 0, 0, 0, 0),
            "loop3": DiskCounters(5, 5, 5, 5, 5),
        }
    )
    nics: dict[str, NicCounters] = field(
        default_factory=lambda: {"lo": nic_counters(10, 10), "wlp0s20f3": nic_counters(1000, 5000)}
    )
    addrs: dict[str, list[NicAddress]] = field(
        default_factory=lambda: {
            "lo": [NicAddress("mac", "00:00:00:00:00:00"), NicAddress("ipv4", "127.0.0.1")],
            "wlp0s20f3": [
                NicAddress("mac", "52:54:00:12:34:56"),
                NicAddress("ipv4", "192.0.2.10"),
                NicAddress("ipv6", "fe80::1%wlp0s20f3"),
            ],
            "enp0s31f6": [NicAddress("mac", "52-54-00-AB-CD-EF")],
            "veth1234": [NicAddress("mac", "aa:aa:aa:aa:aa:aa")],
        }
    )
    nic_stats: dict[str, NicStats] = field(
        default_factory=lambda: {
            "lo": NicStats(True, 0),
            "wlp0s20f3": NicStats(True, 0),
            "enp0s31f6": NicStats(False, 1000),
        }
    )
    boot: float = BOOT_TIME
    processes: int = 312
    users: int = 2
    temps: list[SensorReading] = field(
        default_factory=lambda: [
            SensorReading("coretemp", "Package id 0", 54.0),
            SensorReading("coretemp", "Core 0", 51.0),
            SensorReading("coretemp", "Core 0", 52.0),
            SensorReading("acpitz", "", 40.0),
        ]
    )
    fan_readings: list[SensorReading] = field(
        default_factory=lambda: [SensorReading("thinkpad", "", 2400.0)]
    )
    battery_state: Battery | None = field(default_factory=lambda: Battery(81.0, False, 7200))
    failing: set[str] = field(default_factory=set)

    def _check(self, name: str) -> None:
        if name in self.failing:
            raise OSError(f"{name} is broken")

    def cpu_times(self) -> CpuTimes:
        self._check("cpu_times")
        return self.total

    def cpu_times_percpu(self) -> list[CpuTimes]:
        return list(self.cores)

    def cpu_count(self, logical: bool) -> int | None:
        return self.logical if logical else self.physical

    def load_average(self) -> tuple[float, float, float]:
        return self.load

    def virtual_memory(self) -> MemoryUsage:
        return self.memory

    def swap_memory(self) -> SwapUsage:
        return self.swap

    def disk_partitions(self) -> list[Partition]:
        return list(self.partitions)

    def disk_usage(self, mountpoint: str) -> DiskUsage:
        if mountpoint not in self.usage:
            raise PermissionError(13, "Permission denied", mountpoint)
        return self.usage[mountpoint]

    def disk_io_counters(self) -> dict[str, DiskCounters]:
        return dict(self.disks)

    def net_io_counters(self) -> dict[str, NicCounters]:
        return dict(self.nics)

    def net_if_addrs(self) -> dict[str, list[NicAddress]]:
        return dict(self.addrs)

    def net_if_stats(self) -> dict[str, NicStats]:
        return dict(self.nic_stats)

    def boot_time(self) -> float:
        return self.boot

    def process_count(self) -> int:
        return self.processes

    def user_count(self) -> int:
        return self.users

    def temperatures(self) -> list[SensorReading]:
        self._check("temperatures")
        return list(self.temps)

    def fans(self) -> list[SensorReading]:
        return list(self.fan_readings)

    def battery(self) -> Battery | None:
        return self.battery_state


Reply = HttpAnswer | Exception


@dataclass
class FakeTransport:
    """Answers from a script (HttpAnswer or an exception to raise), then `default`."""

    replies: list[Reply] = field(default_factory=list)
    default: Reply = field(default_factory=lambda: HttpAnswer(202, None, b"{}"))
    posts: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    on_post: Callable[[], None] | None = None

    def post(self, body: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        self.posts.append((body, dict(headers)))
        if self.on_post is not None:
            self.on_post()
        reply = self.replies.pop(0) if self.replies else self.default
        if isinstance(reply, Exception):
            raise reply
        return reply

    def close(self) -> None:
        pass

    def report_ids(self) -> list[str]:
        return [decode(body)["report_id"] for body, _ in self.posts]


def refused() -> TransportError:
    return TransportError("connection refused")


def decode(body: bytes) -> dict[str, Any]:
    """A spooled/sent body back to the report dict."""
    loaded: dict[str, Any] = json.loads(gzip.decompress(body))
    return loaded


@dataclass
class FakeCollector:
    """A transport that answers like the collector, in process: one report or a batch,
    idempotent by report_id, a batch validated whole before any of it is accepted.

    `down` refuses that many requests (no answer), then `errors` answers its statuses
    one request each; `lose_answers` stores that many
    requests' reports, then fails as if the answer was lost; reports whose id is in
    `malformed` are refused 422 (in a batch, named `reports.N.metrics.0.unit`);
    `takes_batches=False` answers a batch like an older collector (422 naming the
    report's own fields); `single_answers` answers a batch 202 with a single-report
    body, as a proxy or a broken collector might.
    """

    down: int = 0
    errors: list[int] = field(default_factory=list)
    lose_answers: int = 0
    malformed: set[str] = field(default_factory=set)
    takes_batches: bool = True
    single_answers: bool = False
    requests: list[list[str]] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # report ids, in the order stored

    def post(self, body: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        payload = decode(body)
        batched = "reports" in payload
        reports: list[dict[str, Any]] = payload["reports"] if batched else [payload]
        self.requests.append([report["report_id"] for report in reports])
        if self.down:
            self.down -= 1
            raise refused()
        if self.errors:
            return answer(self.errors.pop(0), {"title": "scripted"})
        if batched and self.single_answers:
            return answer(202, {"report_id": None, "ci_id": None, "duplicate": False})
        if batched and not self.takes_batches:
            return answer(422, {"title": "Invalid request", "errors": [
                {"loc": "report_id", "msg": "Field required"}]})
        bad = [n for n, report in enumerate(reports) if report["report_id"] in self.malformed]
        if bad:
            prefix = "reports.{}." if batched else ""
            return answer(422, {"title": "Invalid request", "errors": [
                {"loc": prefix.format(n) + "metrics.0.unit", "msg": "bad unit"} for n in bad]})
        results = []
        for report in reports:
            report_id = report["report_id"]
            results.append({"report_id": report_id, "ci_id": "ci-1",
                            "duplicate": report_id in self.accepted})
            if report_id not in self.accepted:
                self.accepted.append(report_id)
        if self.lose_answers:
            self.lose_answers -= 1
            raise TransportError("connection closed before the collector answered")
        return answer(202, {"results": results} if batched else results[0])

    def close(self) -> None:
        pass


def answer(status: int, payload: dict[str, Any]) -> HttpAnswer:
    return HttpAnswer(status, None, json.dumps(payload).encode())
