"""The poller end to end against recorded devices: what is asked, what comes back, and
what a failure at each stage turns into."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from collector.snmp import oids
from collector.snmp.credentials import CommunityCredentials
from collector.snmp.decode.printer_alerts import active_conditions
from collector.snmp.errors import (
    Reachability,
    SnmpAuthError,
    SnmpMalformedReply,
    SnmpTimeout,
)
from collector.snmp.model import LldpNeighbour, PortMac
from collector.snmp.poller import SnmpPoller
from collector.snmp.session import Target

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def target(address="192.0.2.10", **options):
    return Target(address, CommunityCredentials("public"), **options)


def poll(device, tgt=None, **poller_options):
    async def opener(_target):
        return device

    poller = SnmpPoller(opener, clock=lambda: NOW, **poller_options)
    return asyncio.run(poller.poll(tgt or target()))


class FailingOn:
    """A recorded device that raises `error` when `root` is walked."""

    def __init__(self, device, root, error):
        self.device, self.root, self.error = device, root, error
        self.requests = device.requests

    async def get(self, wanted):
        return await self.device.get(wanted)

    async def get_next(self, wanted):
        return await self.device.get_next(wanted)

    async def walk(self, root):
        if root == self.root:
            raise self.error
        return await self.device.walk(root)

    async def walk_columns(self, columns):
        if self.root in columns:
            raise self.error
        return await self.device.walk_columns(columns)


def test_mono_laser(recorded_device):
    device = recorded_device("printer-mono-laser.snmprec")
    result = poll(device)
    assert result.reachability is Reachability.REACHABLE
    assert result.failures == ()
    assert result.polled_at == NOW
    inventory = result.inventory
    assert inventory.ci_class == "Printer"
    assert inventory.source == "snmp"
    assert inventory.identity == {
        "address": "192.0.2.10", "serial": "E78123A9N456789",
        "macs": ["3c:2a:f4:e1:d2:b0"], "sys_name": "BRN3C2AF4E1D2B0",
    }
    assert inventory.attributes["vendor"] == "Brother"
    assert inventory.attributes["model"] == "Brother HL-L5100DN series"
    assert inventory.attributes["sys_location"] == "2nd floor, room 214"
    [pages] = result.samples_named("printer.page_count")
    assert pages.value == 48213
    assert active_conditions(result.samples) == ["jammed"]
    assert [s.state for s in result.samples_named("printer.alert")] == ["jam"]
    assert result.relations == ()


def test_a_printer_is_asked_only_for_printer_tables(recorded_device):
    device = recorded_device("printer-mono-laser.snmprec")
    poll(device)
    walked = device.walked()
    assert oids.PRT_MARKER_SUPPLIES_LEVEL in walked
    assert oids.PRT_ALERT_CODE in walked
    assert (*oids.PRT_INPUT_ENTRY, 1) not in walked  # only the columns decoders read
    for foreign in (oids.IF_HC_IN_OCTETS, oids.DOT1D_TP_FDB_PORT, oids.HR_STORAGE_ENTRY,
                    oids.LLDP_REM_ENTRY, oids.LLDP_REM_SYS_NAME):
        assert foreign not in walked
    kinds = [kind for kind, _ in device.requests]
    # system group, one probe PDU, the printer's identity, two side-by-side walks
    assert kinds == ["get", "get_next", "get", "walk_columns", "walk_columns"]


def test_switch(recorded_device):
    device = recorded_device("switch-48-port.snmprec")
    result = poll(device)
    assert result.reachability is Reachability.REACHABLE
    inventory = result.inventory
    assert inventory.ci_class == "NetworkDevice"
    assert inventory.identity["serial"] == "FOC2031X1AB"
    assert inventory.identity["macs"] == ["70:18:a7:3b:c0:80"]
    assert "hostname" not in inventory.identity
    assert inventory.attributes["vendor"] == "Cisco"
    assert inventory.attributes["model"] == "WS-C2960X-48TS-L"
    ports = {p["name"]: p for p in inventory.attributes["ports"]}
    assert ports["Gi1/0/5"]["oper_status"] == "up"
    fdb = [r for r in result.relations if isinstance(r, PortMac)]
    assert PortMac("Gi1/0/5", 10105, "3c:2a:f4:e1:d2:b0") in fdb
    lldp = [r for r in result.relations if isinstance(r, LldpNeighbour)]
    assert {n.system_name for n in lldp} == {"core-sw1.example.org", "AP-3F-01"}
    # 64-bit counters answered, so the 32-bit columns were not walked; the Q-BRIDGE
    # table was empty, so the plain BRIDGE-MIB one was
    walked = device.walked()
    assert oids.IF_HC_IN_OCTETS in walked
    assert oids.IF_IN_OCTETS not in walked
    assert oids.DOT1D_TP_FDB_PORT in walked


def test_server_identity_includes_its_host_name(recorded_device):
    result = poll(recorded_device("netsnmp-linux.snmprec"))
    identity = result.inventory.identity
    assert result.inventory.ci_class == "Server"
    assert identity["hostname"] == "testhost"
    assert identity["fqdn"] == "testhost.example.org"
    assert "be:ee:af:b8:08:2d" in identity["macs"]
    assert result.inventory.attributes["memory_bytes"] == 24684084 * 1024
    names = {s.name for s in result.samples}
    assert {"host.uptime", "host.cpu.utilization", "host.memory.used",
            "host.filesystem.used"} <= names


def test_a_silent_device_is_unreachable_not_empty(recorded_device):
    device = FailingOn(recorded_device("printer-mono-laser.snmprec"), None, None)

    async def silent(_wanted):
        raise SnmpTimeout("no response before timeout", address="192.0.2.10:161")

    device.get = silent
    result = poll(device)
    assert result.reachability is Reachability.UNREACHABLE
    assert result.inventory is None
    assert result.samples == ()
    assert isinstance(result.failure, SnmpTimeout)
    [observation] = result.observations("ci-42")
    assert (observation.ci_id, observation.name, observation.state) == (
        "ci-42", "snmp.reachability", "unreachable")
    assert observation.observed_at == NOW


def test_a_timeout_mid_poll_keeps_what_was_read_and_withholds_the_rest(recorded_device):
    device = FailingOn(recorded_device("switch-48-port.snmprec"), oids.DOT1D_BASE_PORT_IF_INDEX,
                       SnmpTimeout("no response", address="192.0.2.10:161"))
    result = poll(device)
    assert result.reachability is Reachability.DEGRADED
    assert isinstance(result.failure, SnmpTimeout)
    assert result.inventory.attributes["ports"]
    assert result.samples_named("interface.oper_status")
    # neither half a forwarding table nor LLDP: nothing after the timeout was asked
    assert result.relations == ()
    assert oids.LLDP_REM_ENTRY not in device.device.walked()


def test_an_auth_failure_on_the_first_request_is_auth_failed(recorded_device):
    device = recorded_device("printer-mono-laser.snmprec")

    async def refused(_wanted):
        raise SnmpAuthError("v3 security: Wrong SNMP PDU digest", reason="wrong_digest")

    device.get = refused
    result = poll(device)
    assert result.reachability is Reachability.AUTH_FAILED
    assert result.failure.address == "192.0.2.10:161"


def test_a_malformed_section_is_reported_and_the_others_still_decode(recorded_device):
    device = recorded_device("printer-colour-mfp.snmprec")
    bad_level = (*oids.PRT_MARKER_SUPPLIES_LEVEL, 1, 1)
    device.snapshot = device.snapshot.merged([(bad_level, b"85%")])
    result = poll(device)
    assert result.reachability is Reachability.DEGRADED
    assert isinstance(result.failure, SnmpMalformedReply)
    assert "1.3.6.1.2.1.43.11.1.1.9.1.1" in str(result.failure)
    assert result.samples_named("printer.supply.level_percent") == []
    assert result.samples_named("printer.page_count")
    assert result.samples_named("printer.tray.state")


def test_the_whole_poll_has_a_deadline(recorded_device):
    device = recorded_device("printer-mono-laser.snmprec")

    async def hangs(_columns):
        await asyncio.sleep(10)

    device.walk_columns = hangs
    result = poll(device, target(deadline=0.05))
    assert result.reachability is Reachability.UNREACHABLE
    assert "deadline" in str(result.failure)


def test_at_most_max_concurrency_devices_are_polled_at_once(recorded_device):
    in_flight = peak = 0

    async def opener(_target):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return recorded_device("printer-mono-laser.snmprec")

    poller = SnmpPoller(opener, max_concurrency=3, clock=lambda: NOW)
    targets = [target(f"192.0.2.{n}") for n in range(1, 11)]
    results = asyncio.run(poller.poll_many(targets))
    assert [r.address for r in results] == [t.address for t in targets]
    assert peak == 3


def test_observations_carry_the_ci_id(recorded_device):
    result = poll(recorded_device("printer-colour-mfp.snmprec"))
    observations = result.observations("printer-7", source="snmp-poller-1")
    assert len(observations) == len(result.samples) + 1
    assert {o.ci_id for o in observations} == {"printer-7"}
    assert {o.source for o in observations} == {"snmp-poller-1"}
    magenta = [o for o in observations if o.name == "printer.supply.level_percent"
               and o.label("supply") == "Magenta Toner"]
    assert [o.value for o in magenta] == [7.0]


def test_max_concurrency_must_be_positive():
    with pytest.raises(ValueError, match="max_concurrency"):
        SnmpPoller(lambda _t: None, max_concurrency=0)
