from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from agent_fakes import FAKE_ROOT, FakeClock, FakeHostSource, nic_counters

from agent.probes import catalog
from agent.probes.catalog import DECLARED_UNITS, Sample
from agent.probes.collector import HostCollector, default_probes
from agent.probes.cpu import CpuProbe
from agent.probes.memory import MemoryProbe
from agent.probes.network import NetworkProbe
from agent.probes.procfs import FileHandlesProbe, PressureProbe
from agent.probes.rates import COUNTER_32_RANGE
from agent.probes.sensors import SensorsProbe
from agent.probes.source import CpuTimes, DiskCounters, SwapUsage
from agent.probes.storage import DiskIoProbe, FilesystemProbe
from agent.probes.system import SystemProbe

NAME = re.compile(r"[a-z][a-z0-9_.]*")


def values(samples: list[Sample], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value for s in samples if s.name == name
    }


def one(samples: list[Sample], name: str, **labels: str) -> float:
    return values(samples, name)[tuple(sorted(labels.items()))]


def test_catalog_names_units_and_labels_follow_the_report_format() -> None:
    names = [spec.name for spec in catalog.ALL_SPECS]
    assert len(names) == len(set(names)) > 30
    for spec in catalog.ALL_SPECS:
        assert NAME.fullmatch(spec.name), spec.name
        assert spec.unit in DECLARED_UNITS
    contract = {
        "host.cpu.utilization": "percent", "host.cpu.count": "count", "host.load.1m": "load",
        "host.memory.used": "percent", "host.memory.available": "bytes",
        "host.swap.used": "percent", "host.filesystem.used": "percent",
        "host.filesystem.free": "bytes", "host.uptime": "seconds",
        "host.processes": "count", "host.users": "count",
    }
    units = {spec.name: spec.unit for spec in catalog.ALL_SPECS}
    assert {name: units[name] for name in contract} == contract


def test_every_default_probe_emits_only_declared_finite_samples() -> None:
    source, clock = FakeHostSource(), FakeClock()
    collector = HostCollector(default_probes(source, clock, FAKE_ROOT))
    collector.collect()
    clock.advance(15)
    source.total = CpuTimes(1060.0, 830.0, 12.0, 1.0)
    result = collector.collect()
    assert result.failures == []
    declared = set(catalog.ALL_SPECS)
    for sample in result.samples:
        assert sample.spec in declared
        assert math.isfinite(sample.value)
        assert set(sample.labels) == set(sample.spec.label_names), sample.name
        assert all(isinstance(v, str) for v in sample.labels.values())


def test_cpu_utilization_from_time_deltas_total_and_per_core() -> None:
    source = FakeHostSource()
    probe = CpuProbe(source)
    first = probe.collect()
    assert values(first, "host.cpu.utilization") == {}  # no interval yet
    assert one(first, "host.cpu.count") == 8
    assert one(first, "host.load.15m") == 1.25
    # 100 s of CPU time: 30 idle + 10 iowait -> 60 % busy, 10 % iowait, 5 % steal
    source.total = CpuTimes(1100.0, 830.0, 20.0, 5.0)
    source.cores = [CpuTimes(275.0, 200.0, 2.5)] + [CpuTimes(275.0, 225.0, 2.5)] * 3
    second = probe.collect()
    assert one(second, "host.cpu.utilization", cpu="total") == pytest.approx(60.0)
    assert one(second, "host.cpu.iowait", cpu="total") == pytest.approx(10.0)
    assert one(second, "host.cpu.steal", cpu="total") == pytest.approx(5.0)
    assert one(second, "host.cpu.utilization", cpu="0") == pytest.approx(100.0)
    assert one(second, "host.cpu.utilization", cpu="3") == pytest.approx(0.0)


def test_cpu_after_reboot_skips_one_interval_instead_of_going_negative() -> None:
    source = FakeHostSource()
    probe = CpuProbe(source)
    probe.collect()
    source.boot += 3600
    source.total = CpuTimes(50.0, 40.0)
    source.cores = [CpuTimes(12.5, 10.0)] * 4
    assert values(probe.collect(), "host.cpu.utilization") == {}
    source.total = CpuTimes(150.0, 90.0)
    assert one(probe.collect(), "host.cpu.utilization", cpu="total") == pytest.approx(50.0)


def test_cpu_going_offline_restarts_per_core_rates_only() -> None:
    source = FakeHostSource()
    probe = CpuProbe(source)
    probe.collect()
    source.total = CpuTimes(1100.0, 850.0, 10.0)
    source.cores = source.cores[:3]
    cpus = {labels[0][1] for labels in values(probe.collect(), "host.cpu.utilization")}
    assert cpus == {"total"}


def test_memory_and_swap() -> None:
    source = FakeHostSource()
    samples = MemoryProbe(source).collect()
    assert one(samples, "host.memory.used") == 52.0
    assert one(samples, "host.memory.available") == 8_000_000_000
    assert one(samples, "host.swap.used") == 25.0
    source.swap = SwapUsage(0, 0, 0.0)
    assert values(MemoryProbe(source).collect(), "host.swap.used") == {}


def test_filesystems_skip_images_bind_mounts_and_unreadable_mounts() -> None:
    samples = FilesystemProbe(FakeHostSource()).collect()
    used = values(samples, "host.filesystem.used")
    assert used == {(("mountpoint", "/"),): 71.2, (("mountpoint", "/boot/efi"),): 1.2,
                    (("mountpoint", "/data"),): 90.0}
    assert one(samples, "host.filesystem.free", mountpoint="/") == 72_017_092_805


def test_disk_io_rates_for_whole_disks_only() -> None:
    source, clock = FakeHostSource(), FakeClock()
    probe = DiskIoProbe(source, clock, FAKE_ROOT)
    assert probe.collect() == []
    clock.advance(10)
    source.disks["nvme0n1"] = DiskCounters(11_000_000, 2_500_000, 300, 250, 7_500)
    samples = probe.collect()
    assert {labels[0][1] for labels in values(samples, "host.disk.read")} == {"nvme0n1", "sda"}
    assert one(samples, "host.disk.read", device="nvme0n1") == pytest.approx(1_000_000)
    assert one(samples, "host.disk.write", device="nvme0n1") == pytest.approx(50_000)
    assert one(samples, "host.disk.read_ops", device="nvme0n1") == pytest.approx(20)
    assert one(samples, "host.disk.busy", device="nvme0n1") == pytest.approx(25.0)


def test_disk_io_without_sys_block_keeps_all_but_loop_devices(tmp_path: Path) -> None:
    source, clock = FakeHostSource(), FakeClock()
    probe = DiskIoProbe(source, clock, tmp_path)
    probe.collect()
    clock.advance(10)
    devices = {labels[0][1] for labels in values(probe.collect(), "host.disk.read")}
    assert devices == {"nvme0n1", "nvme0n1p1", "sda"}


def test_network_rates_errors_drops_and_loopback_excluded() -> None:
    source, clock = FakeHostSource(), FakeClock()
    probe = NetworkProbe(source, clock)
    assert probe.collect() == []
    clock.advance(15)
    source.nics["wlp0s20f3"] = source.nics["wlp0s20f3"]._replace(
        bytes_sent=16_000, bytes_recv=20_000, errin=30, dropout=15
    )
    samples = probe.collect()
    assert one(samples, "host.network.transmit", interface="wlp0s20f3") == pytest.approx(1000)
    assert one(samples, "host.network.receive", interface="wlp0s20f3") == pytest.approx(1000)
    assert one(samples, "host.network.receive_errors", interface="wlp0s20f3") == 2.0
    assert one(samples, "host.network.transmit_drops", interface="wlp0s20f3") == 1.0
    assert all(s.labels["interface"] != "lo" for s in samples)


def test_network_counter_wrap_and_reboot_never_give_negative_rates() -> None:
    source, clock = FakeHostSource(), FakeClock()
    probe = NetworkProbe(source, clock)
    source.nics = {"eth0": nic_counters(COUNTER_32_RANGE - 1_000, 10_000_000)}
    probe.collect()
    clock.advance(10)
    source.nics = {"eth0": nic_counters(9_000, 10_010_000)}  # tx wrapped at 32 bits
    wrapped = probe.collect()
    assert one(wrapped, "host.network.transmit", interface="eth0") == pytest.approx(1_000)
    clock.advance(10)
    source.boot += 7200  # rebooted: both counters restarted small
    source.nics = {"eth0": nic_counters(100, 200)}
    after_reboot = probe.collect()
    assert values(after_reboot, "host.network.transmit") == {}
    assert all(s.value >= 0 for s in after_reboot)
    clock.advance(10)
    source.nics = {"eth0": nic_counters(10_100, 20_200)}
    assert one(probe.collect(), "host.network.receive", interface="eth0") == pytest.approx(2_000)


def test_system_uptime_processes_users() -> None:
    samples = SystemProbe(FakeHostSource(), FakeClock()).collect()
    assert one(samples, "host.uptime") == 3600
    assert one(samples, "host.processes") == 312
    assert one(samples, "host.users") == 2


def test_sensors_get_unique_labels_and_battery() -> None:
    samples = SensorsProbe(FakeHostSource()).collect()
    temps = values(samples, "host.sensor.temperature")
    assert temps[(("chip", "coretemp"), ("sensor", "Core 0"))] == 51.0
    assert temps[(("chip", "coretemp"), ("sensor", "Core 0#2"))] == 52.0
    assert temps[(("chip", "acpitz"), ("sensor", "acpitz1"))] == 40.0
    assert one(samples, "host.sensor.fan", chip="thinkpad", sensor="thinkpad1") == 2400
    assert one(samples, "host.battery.charge") == 81.0
    assert one(samples, "host.battery.power_plugged") == 0.0
    assert one(samples, "host.battery.time_left") == 7200


def test_sensors_absent_on_a_vm() -> None:
    source = FakeHostSource(temps=[], fan_readings=[], battery_state=None)
    assert SensorsProbe(source).collect() == []


def test_pressure_and_file_handles_from_the_fake_proc_tree() -> None:
    pressure = PressureProbe(FAKE_ROOT).collect()
    assert one(pressure, "host.pressure.some", resource="io", window="10s") == 12.4
    assert one(pressure, "host.pressure.full", resource="memory", window="60s") == 0.05
    assert len(pressure) == 18
    handles = FileHandlesProbe(FAKE_ROOT).collect()
    assert one(handles, "host.file_handles.used") == 9408


def test_procfs_probes_yield_nothing_where_the_files_do_not_exist(tmp_path: Path) -> None:
    assert PressureProbe(tmp_path).collect() == []
    assert FileHandlesProbe(tmp_path).collect() == []


def test_a_failing_probe_is_reported_and_the_others_still_collect() -> None:
    source = FakeHostSource(failing={"temperatures"})
    result = HostCollector(default_probes(source, FakeClock(), FAKE_ROOT)).collect()
    assert [f.probe for f in result.failures] == ["sensors"]
    assert "OSError: temperatures is broken" in result.failures[0].error
    assert any(s.name == "host.memory.used" for s in result.samples)
