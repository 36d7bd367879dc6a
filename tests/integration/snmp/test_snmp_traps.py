"""Traps sent with net-snmp's `snmptrap` to the receiver: bound to the sending
device's CI and evaluated by the example SNMP rules."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

from cmdb.store import IncidentQuery
from collector.snmp.credentials import CommunityCredentials
from collector.snmp.ingest import DeviceRef, SnmpIngest
from collector.snmp.trap_receiver import TrapCredential, TrapIntake, TrapReceiver, serve_traps
from rules.book import RuleBook

RULES = Path(__file__).resolve().parents[3] / "etc" / "snmp-rules.example.yaml"
TRAP_COMMUNITY = "opsgraph-traps"
LINK_DOWN = ["1.3.6.1.6.3.1.1.5.3",
             "1.3.6.1.2.1.2.2.1.1.10105", "i", "10105",
             "1.3.6.1.2.1.2.2.1.7.10105", "i", "1",
             "1.3.6.1.2.1.2.2.1.8.10105", "i", "2"]


def snmptrap_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "persist").mkdir(exist_ok=True)
    # numeric OIDs only: no MIB loading, no warnings about missing MIB files
    return {**os.environ, "MIBS": "", "MIBDIRS": str(tmp_path), "SNMPCONFPATH": str(tmp_path),
            "SNMP_PERSISTENT_DIR": str(tmp_path / "persist")}


def test_a_link_down_trap_lands_on_the_switch_that_sent_it(
        store, clock, polled, snmptrap, tmp_path):
    rules = RuleBook.from_file(RULES)
    ingest = SnmpIngest(store, rules, clock)
    switch = ingest.ingest(replace(polled["switch-48-port"], polled_at=clock.now))
    printer = ingest.ingest(replace(polled["printer-mono-laser"], polled_at=clock.now))
    assert printer.ci_id != switch.ci_id
    devices = {"127.0.0.1": [DeviceRef("127.0.0.1", sys_name="acc-sw-3f.example.org")]}
    intake = TrapIntake(store, rules, clock, devices)
    receiver = TrapReceiver("127.0.0.1", 0,
                            [TrapCredential(CommunityCredentials(TRAP_COMMUNITY))])

    async def scenario():
        stop, ready, outcomes = asyncio.Event(), asyncio.Event(), []

        def report(outcome):
            outcomes.append(outcome)
            stop.set()

        serving = asyncio.create_task(
            serve_traps(receiver, intake, report, stop, lambda port: ready.set()))
        await asyncio.wait_for(ready.wait(), 10)
        for community in ("not-the-trap-community", TRAP_COMMUNITY):
            sent = await asyncio.create_subprocess_exec(
                snmptrap, "-v", "2c", "-c", community, f"127.0.0.1:{receiver.port}", "",
                *LINK_DOWN, env=snmptrap_env(tmp_path))
            assert await sent.wait() == 0
        await asyncio.wait_for(serving, 10)
        return outcomes

    [outcome] = asyncio.run(scenario())  # the wrong community was dropped
    assert (outcome.trap.name, outcome.ci_id) == ("linkDown", switch.ci_id)
    assert outcome.states["interface.oper_status"] == "down"
    [incident] = store.list_incidents(IncidentQuery(state="open", ci_id=switch.ci_id)).items
    assert (incident.rule, incident.labels["interface"]) == ("interface-down", "Gi1/0/5")
    assert incident.summary == "acc-sw-3f.example.org: port Gi1/0/5 is down"
    on_printer = store.list_incidents(IncidentQuery(state="open", ci_id=printer.ci_id)).items
    assert [i.rule for i in on_printer] == ["printer-jammed"]  # from its poll, nothing else


def test_a_trap_from_an_unknown_address_is_not_bound(store, clock):
    from collector.snmp.traps import decode_trap

    intake = TrapIntake(store, RuleBook(None), clock, {})
    outcome = intake.accept(decode_trap("127.0.0.9", []))
    assert (outcome.ci_id, outcome.unbound_reason) == (None, "no target at this address")
