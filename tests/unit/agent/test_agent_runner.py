from __future__ import annotations

import threading
from pathlib import Path

from agent_fakes import FAKE_ROOT, FakeClock, FakeHostSource, FakeTransport, decode

from agent.backoff import Backoff
from agent.clock import SystemClock
from agent.health import AgentHealth
from agent.inventory import InventoryReader, PlatformFacts
from agent.probes.collector import HostCollector, Probe, default_probes
from agent.runner import AgentLoop, LoopTiming
from agent.shipper import Shipper
from agent.spool import Spool

FACTS = PlatformFacts("Linux", "x86_64", "6.1.0", "pc-0042")
DEFAULT_TIMING = LoopTiming(15.0, 300.0, 86400.0)


def build(
    tmp_path: Path,
    clock: FakeClock | SystemClock,
    source: FakeHostSource,
    transport: FakeTransport,
    probes: list[Probe] | None = None,
    timing: LoopTiming = DEFAULT_TIMING,
) -> tuple[AgentLoop, Spool, AgentHealth]:
    spool = Spool(tmp_path / "spool.db", clock)
    shipper = Shipper(spool, transport, "tok", clock, Backoff(0.01, 0.02))
    health = AgentHealth()
    inventory = InventoryReader(source, FAKE_ROOT, FACTS, fqdn_lookup=lambda name: name)
    if probes is None:
        probes = default_probes(source, clock, FAKE_ROOT)
    collector = HostCollector(probes)
    loop = AgentLoop("pc-0042", collector, inventory, spool, shipper, clock, timing, health)
    return loop, spool, health


def spooled(spool: Spool) -> list[dict[str, object]]:
    reports = []
    while (report := spool.oldest()) is not None:
        reports.append(decode(report.body))
        spool.delivered(report)
    return reports


def test_inventory_goes_in_the_first_report_then_only_on_change(tmp_path: Path) -> None:
    clock, source = FakeClock(), FakeHostSource()
    loop, spool, _ = build(tmp_path, clock, source, FakeTransport())
    first = loop.cycle()
    assert first.with_inventory
    assert first.samples > 20
    clock.advance(15)
    assert not loop.cycle().with_inventory
    clock.advance(300)
    assert not loop.cycle().with_inventory  # checked again: unchanged
    source.addrs["wlp0s20f3"] = source.addrs["wlp0s20f3"][:1]  # lost its addresses
    clock.advance(300)
    assert loop.cycle().with_inventory
    reports = spooled(spool)
    assert ["inventory" in r for r in reports] == [True, False, False, True]
    assert all(r["agent_id"] == "pc-0042" for r in reports)
    assert "metrics" in reports[1]


def test_a_cycle_with_nothing_to_say_spools_a_heartbeat(tmp_path: Path) -> None:
    clock, source = FakeClock(), FakeHostSource()
    loop, spool, _ = build(tmp_path, clock, source, FakeTransport(), probes=[])
    loop.cycle()
    clock.advance(15)
    loop.cycle()
    heartbeat = spooled(spool)[1]
    assert set(heartbeat) == {"report_id", "agent_id", "agent_version", "collected_at"}


def test_an_inventory_failure_does_not_cost_the_metrics(tmp_path: Path) -> None:
    source = FakeHostSource()
    source.net_if_addrs = None  # type: ignore[assignment,method-assign]
    loop, spool, _ = build(tmp_path, FakeClock(), source, FakeTransport())
    result = loop.cycle()
    assert not result.with_inventory
    assert result.samples > 0
    assert spool.status().depth == 1


def test_run_collects_sends_and_stops_with_nothing_lost(tmp_path: Path) -> None:
    stop = threading.Event()
    transport = FakeTransport()
    transport.on_post = lambda: stop.set() if len(transport.posts) >= 3 else None
    loop, spool, health = build(
        tmp_path, SystemClock(), FakeHostSource(), transport,
        timing=LoopTiming(0.05, 300.0, 86400.0),
    )
    worker = threading.Thread(target=loop.run, args=(stop,))
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()
    # A slow machine may let one more spooled report go out before the stop is seen.
    sent = len(transport.posts)
    assert sent >= 3
    status = spool.status()
    assert status.delivered_reports == sent
    assert status.depth == 0
    assert health.snapshot().delivered_reports == sent
    assert "inventory" in decode(transport.posts[0][0])
