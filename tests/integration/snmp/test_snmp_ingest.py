"""Poll results of simulated printers and a switch (snmpsim) into each store and
through the example SNMP rules: Printer CIs with supplies, page counts and alerts;
incidents for a low toner, a jam, a port going down and a silent device; port-level
CONNECTED_TO links from known hosts to the switch."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from cmdb.reconcile import reconcile
from cmdb.store import IncidentQuery
from collector.observation import Inventory
from collector.snmp.credentials import CommunityCredentials
from collector.snmp.errors import Reachability
from collector.snmp.ingest import DeviceRef, SnmpIngest
from collector.snmp.model import PollResult, Sample
from collector.snmp.poller import SnmpPoller
from collector.snmp.session import SnmpClient, Target
from rules.book import RuleBook

RULES = Path(__file__).resolve().parents[3] / "etc" / "snmp-rules.example.yaml"


@pytest.fixture
def ingest(store, clock):
    return SnmpIngest(store, RuleBook.from_file(RULES), clock)


def open_incidents(store, ci_id):
    return {(i.rule, i.labels.get("supply") or i.labels.get("interface") or "")
            for i in store.list_incidents(IncidentQuery(state="open", ci_id=ci_id)).items}


def at(result: PollResult, clock, seconds_ago: float = 0) -> PollResult:
    """`result` as if polled now (by the test's clock), or `seconds_ago`."""
    when = clock.now - timedelta(seconds=seconds_ago)
    return replace(result, polled_at=when, inventory=replace(result.inventory, seen_at=when))


def test_printers_become_printer_cis_with_supplies_pages_and_alerts(store, ingest, polled, clock):
    mono = ingest.ingest(at(polled["printer-mono-laser"], clock))
    mfp = ingest.ingest(at(polled["printer-colour-mfp"], clock))
    assert (mono.created, mfp.created) == (True, True)
    assert mono.ci_id != mfp.ci_id
    printer = store.get_ci(mfp.ci_id)
    assert (printer.ci_class, printer.name) == ("Printer", "KM6630-3F-EAST")
    attributes = printer.attributes
    assert attributes["serial"] == "VCF9Z12345"
    assert attributes["page_count"] == 152347
    supplies = {s["name"]: (s["level_percent"], s["state"]) for s in attributes["supplies"]}
    assert supplies["Magenta Toner"] == (7.0, "available")
    assert supplies["Fuser Unit"] == (None, "some_remaining")
    assert [a["code"] for a in attributes["alerts"]] == ["markerTonerAlmostEmpty"]
    assert attributes["printer_errors"] == ["low_toner"]
    laser = store.get_ci(mono.ci_id).attributes
    assert (laser["page_count"], laser["printer_errors"]) == (48213, ["jammed"])
    assert laser["alerts"][0]["description"] == "Jam Tray 1"
    assert store.ci_for_key("serial:E78123A9N456789") == mono.ci_id


def test_a_low_toner_and_a_jam_become_incidents_and_clear(store, ingest, polled, clock):
    mono = ingest.ingest(at(polled["printer-mono-laser"], clock))
    mfp = ingest.ingest(at(polled["printer-colour-mfp"], clock))
    assert open_incidents(store, mono.ci_id) == {("printer-jammed", "")}
    assert open_incidents(store, mfp.ci_id) == {("printer-toner-low", "Magenta Toner")}
    clock.advance(minutes=5)
    cleared = [Sample(s.name, s.value, s.unit, "clear", s.labels)
               if s.name == "printer.error" else s for s in polled["printer-mono-laser"].samples]
    ingest.ingest(replace(at(polled["printer-mono-laser"], clock), samples=tuple(cleared)))
    assert open_incidents(store, mono.ci_id) == set()
    [resolved] = store.list_incidents(IncidentQuery(state="resolved", ci_id=mono.ci_id)).items
    assert resolved.rule == "printer-jammed"


def test_a_switch_links_the_hosts_behind_its_edge_ports(store, ingest, polled, clock):
    pcs = reconcile(store, [
        Inventory("agent", "Computer", {"macs": ["d4:81:d7:10:01:01"], "hostname": "pc-0001"},
                  {"hostname": "pc-0001"}),
        Inventory("agent", "Computer", {"macs": ["d4:81:d7:10:11:01"], "hostname": "pc-0017"},
                  {"hostname": "pc-0017"}),
        # a VM behind the uplink: its MAC is in the switch's table, but not cabled there
        Inventory("agent", "Server", {"macs": ["00:50:56:a1:00:10"], "hostname": "vm-01"},
                  {"hostname": "vm-01"}),
    ], clock.now)
    printer = ingest.ingest(at(polled["printer-mono-laser"], clock))
    switch = ingest.ingest(at(polled["switch-48-port"], clock))
    assert store.get_ci(switch.ci_id).ci_class == "NetworkDevice"
    links = {(r.from_id, r.properties["port"]) for r in store.relationships(switch.ci_id)
             if r.type == "CONNECTED_TO" and r.to_id == switch.ci_id}
    assert links == {(pcs[0].ci_id, "Gi1/0/1"), (pcs[1].ci_id, "Gi1/0/17"),
                     (printer.ci_id, "Gi1/0/5")}
    assert switch.links == 3
    assert store.relationships(pcs[2].ci_id) == []


def test_an_unanswered_poll_changes_no_inventory_but_opens_an_incident(
        store, ingest, polled, clock, unused_udp_port):
    first = ingest.ingest(at(polled["printer-colour-mfp"], clock))
    before = store.get_ci(first.ci_id)

    device = DeviceRef("127.0.0.1", sys_name="KM6630-3F-EAST")

    async def dead_polls():
        async with SnmpClient() as client:
            target = Target("127.0.0.1", CommunityCredentials("printer-colour-mfp"),
                            port=unused_udp_port, timeout=0.2, retries=0)
            poller = SnmpPoller.over(client, clock=clock)
            for _ in range(2):  # the rule waits 2 minutes before it opens
                clock.advance(minutes=3)
                silent = await poller.poll(target)
                outcome = ingest.ingest(silent, device)
            return silent, outcome

    silent, outcome = asyncio.run(dead_polls())
    assert silent.reachability is Reachability.UNREACHABLE
    assert outcome.ci_id == first.ci_id
    after = store.get_ci(first.ci_id)
    assert (after.attributes, after.last_seen, after.status) == (
        before.attributes, before.last_seen, before.status)
    [incident] = [i for i in store.list_incidents(IncidentQuery(state="open")).items
                  if i.rule == "snmp-device-unreachable"]
    assert incident.ci_id == first.ci_id
    assert incident.summary == "KM6630-3F-EAST: not answering SNMP (timeout)"
    unknown = ingest.ingest(silent, DeviceRef("127.0.0.1", sys_name="never-polled"))
    assert (unknown.ci_id, unknown.unbound_reason) == (None, "no CI known for this device")


def port_down(result: PollResult, port: str) -> PollResult:
    samples = tuple(replace(s, state="down") if s.name == "interface.oper_status"
                    and s.label("interface") == port else s for s in result.samples)
    inventory = result.inventory
    ports = [{**p, "oper_status": "down"} if p["name"] == port else p
             for p in inventory.attributes["ports"]]
    inventory = replace(inventory, attributes={**inventory.attributes, "ports": ports})
    return replace(result, samples=samples, inventory=inventory)


def test_a_port_that_was_up_going_down_opens_an_incident(store, ingest, polled, clock):
    switch = ingest.ingest(at(polled["switch-48-port"], clock))
    # 36 ports are down from the start: unused sockets, not outages
    assert open_incidents(store, switch.ci_id) == set()
    clock.advance(minutes=5)
    ingest.ingest(port_down(at(polled["switch-48-port"], clock), "Gi1/0/5"))
    assert open_incidents(store, switch.ci_id) == {("interface-down", "Gi1/0/5")}
    clock.advance(minutes=5)
    again = ingest.ingest(port_down(at(polled["switch-48-port"], clock), "Gi1/0/5"))
    assert open_incidents(store, switch.ci_id) == {("interface-down", "Gi1/0/5")}
    assert again.observations < switch.observations  # the down port is no longer evaluated
    clock.advance(minutes=5)
    ingest.ingest(at(polled["switch-48-port"], clock))
    assert open_incidents(store, switch.ci_id) == set()


def test_the_poll_time_is_when_things_were_observed(store, ingest, polled, clock):
    result = at(polled["printer-mono-laser"], clock, seconds_ago=30)
    outcome = ingest.ingest(result)
    ci = store.get_ci(outcome.ci_id)
    assert ci.last_seen == clock.now - timedelta(seconds=30)
    [incident] = store.list_incidents(IncidentQuery(state="open", ci_id=outcome.ci_id)).items
    assert incident.opened_at == result.polled_at
