"""The poller against simulated printers and a switch (snmpsim serving the recordings
in tests/data/snmp/): supplies, page counts and alerts; ports and what is behind them."""

from __future__ import annotations

import asyncio
import time

from collector.snmp.credentials import CommunityCredentials
from collector.snmp.decode.printer_alerts import active_conditions
from collector.snmp.errors import Reachability, SnmpMalformedReply
from collector.snmp.model import LldpNeighbour, PortMac
from collector.snmp.poller import SnmpPoller
from collector.snmp.session import SnmpClient, Target


def device(agent, recording):
    # snmpsim answers each recording under a v2c community named after the file
    return Target(agent.host, CommunityCredentials(recording), port=agent.port, timeout=2.0,
                  retries=1)


def poll(*targets):
    async def run():
        async with SnmpClient() as client:
            return await SnmpPoller.over(client, max_concurrency=4).poll_many(targets)

    results = asyncio.run(run())
    for result in results:
        assert result.reachability is Reachability.REACHABLE, result.failures
    return results


def values(result, name, key):
    return {s.label(key): s.value for s in result.samples_named(name)}


def states(result, name, key):
    return {s.label(key): s.state for s in result.samples_named(name)}


def test_mono_laser_printer(snmpsim):
    [result] = poll(device(snmpsim, "printer-mono-laser"))
    assert result.inventory.ci_class == "Printer"
    assert result.inventory.identity["serial"] == "E78123A9N456789"
    assert result.inventory.identity["macs"] == ["3c:2a:f4:e1:d2:b0"]
    assert values(result, "printer.supply.level_percent", "supply") == {
        "Black Toner": 35.0, "Drum Unit": 62.0,
    }
    assert states(result, "printer.tray.state", "tray") == {
        "Tray 1": "some_remaining", "MP Tray": "empty", "Tray 2": "available",
    }
    assert [s.value for s in result.samples_named("printer.page_count")] == [48213]
    assert active_conditions(result.samples) == ["jammed"]
    [alert] = result.samples_named("printer.alert")
    assert alert.state == "jam"
    assert alert.label("severity") == "critical"


def test_colour_mfp(snmpsim):
    [result] = poll(device(snmpsim, "printer-colour-mfp"))
    assert result.inventory.attributes["model"] == "ECOSYS M6630cidn"
    assert result.inventory.attributes["vendor"] == "Kyocera"
    toner = values(result, "printer.supply.level_percent", "color")
    assert toner == {"black": 85.0, "cyan": 42.0, "magenta": 7.0, "yellow": 60.0, None: 64.0}
    assert values(result, "printer.supply.fill_percent", "supply") == {"Waste Toner Box": 35.0}
    assert states(result, "printer.supply.state", "supply")["Fuser Unit"] == "some_remaining"
    assert [s.value for s in result.samples_named("printer.page_count")] == [152347]
    [alert] = result.samples_named("printer.alert")
    assert alert.state == "markerTonerAlmostEmpty"
    assert alert.label("subunit") == "Magenta Toner"
    assert active_conditions(result.samples) == ["low_toner"]


def test_switch_ports_and_what_is_behind_them(snmpsim):
    [result] = poll(device(snmpsim, "switch-48-port"))
    assert result.inventory.ci_class == "NetworkDevice"
    assert result.inventory.identity["serial"] == "FOC2031X1AB"
    oper = states(result, "interface.oper_status", "interface")
    assert len([name for name in oper if name.startswith("Gi1/0/")]) == 52
    assert oper["Gi1/0/5"] == "up"
    assert oper["Gi1/0/30"] == "down"
    fdb = {r.mac: r.port for r in result.relations if isinstance(r, PortMac)}
    assert fdb["3c:2a:f4:e1:d2:b0"] == "Gi1/0/5"  # the mono laser
    assert fdb["00:17:c8:5a:10:3e"] == "Gi1/0/7"  # the colour MFP
    assert sum(port == "Gi1/0/49" for port in fdb.values()) == 20
    neighbours = {r.local_port: r for r in result.relations if isinstance(r, LldpNeighbour)}
    assert neighbours["Gi1/0/49"].system_name == "core-sw1.example.org"


def test_printer_behind_a_switch_port_is_found_by_mac(snmpsim):
    printer, switch = poll(device(snmpsim, "printer-mono-laser"), device(snmpsim, "switch-48-port"))
    [mac] = printer.inventory.identity["macs"]
    ports = [r.port for r in switch.relations if isinstance(r, PortMac) and r.mac == mac]
    assert ports == ["Gi1/0/5"]


def test_traffic_counters_move_between_polls(snmpsim):
    # Gi1/0/1 is recorded as growing 9311 octets a second
    target = device(snmpsim, "switch-48-port")
    started = time.monotonic()
    [first] = poll(target)
    time.sleep(1.0)
    [second] = poll(target)
    elapsed = time.monotonic() - started
    before = values(first, "interface.in_octets", "interface")["Gi1/0/1"]
    after = values(second, "interface.in_octets", "interface")["Gi1/0/1"]
    assert 9311 * 1.0 <= after - before <= 9311 * (elapsed + 1)


def test_a_supply_level_sent_as_text_degrades_the_poll_but_keeps_the_rest(snmpsim):
    async def run():
        async with SnmpClient() as client:
            return await SnmpPoller.over(client).poll(device(snmpsim, "printer-broken-firmware"))

    result = asyncio.run(run())
    assert result.reachability is Reachability.DEGRADED
    assert isinstance(result.failure, SnmpMalformedReply)
    assert result.samples_named("printer.supply.level_percent") == []
    assert [s.value for s in result.samples_named("printer.page_count")] == [48213]


def test_an_agent_whose_sys_object_id_is_not_an_oid_is_a_protocol_error(snmpsim):
    async def run():
        async with SnmpClient() as client:
            return await SnmpPoller.over(client).poll(device(snmpsim, "agent-garbled-sysobjectid"))

    result = asyncio.run(run())
    assert result.reachability is Reachability.PROTOCOL_ERROR
    assert isinstance(result.failure, SnmpMalformedReply)
    assert result.inventory is None
