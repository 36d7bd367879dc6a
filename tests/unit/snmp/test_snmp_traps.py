"""Traps decoded and turned into the observations a poll would make."""

from __future__ import annotations

from datetime import UTC, datetime

from collector.snmp.oids import parse_oid
from collector.snmp.traps import decode_trap, port_names, trap_observations

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TRAP_OID = parse_oid("1.3.6.1.6.3.1.1.4.1.0")
UPTIME = parse_oid("1.3.6.1.2.1.1.3.0")


def link_down(if_index=10105, *extra):
    return [
        (UPTIME, 123456),
        (TRAP_OID, parse_oid("1.3.6.1.6.3.1.1.5.3")),
        (parse_oid(f"1.3.6.1.2.1.2.2.1.1.{if_index}"), if_index),
        (parse_oid(f"1.3.6.1.2.1.2.2.1.7.{if_index}"), 1),
        (parse_oid(f"1.3.6.1.2.1.2.2.1.8.{if_index}"), 2),
        *extra,
    ]


def by_name(observations):
    return {o.name: o for o in observations}


def test_link_down_names_the_port_from_the_cis_ports():
    trap = decode_trap("127.0.0.1", link_down())
    assert (trap.name, trap.sender, trap.uptime_seconds, trap.if_index()) == (
        "linkDown", "127.0.0.1", 1234.56, 10105)
    observed = by_name(trap_observations(trap, "ci-1", AT, {10105: "Gi1/0/5"}))
    oper = observed["interface.oper_status"]
    assert (oper.ci_id, oper.state, oper.observed_at) == ("ci-1", "down", AT)
    assert dict(oper.labels) == {"interface": "Gi1/0/5", "if_index": "10105"}
    assert observed["snmp.trap"].state == "linkDown"


def test_link_up_with_if_name_in_the_trap_needs_no_lookup():
    varbinds = link_down(7, (parse_oid("1.3.6.1.2.1.31.1.1.1.1.7"), b"ge-0/0/7"))
    varbinds[1] = (TRAP_OID, parse_oid("1.3.6.1.6.3.1.1.5.4"))
    varbinds[4] = (parse_oid("1.3.6.1.2.1.2.2.1.8.7"), 1)
    oper = by_name(trap_observations(decode_trap("10.0.0.2", varbinds), "ci", AT))
    assert oper["interface.oper_status"].state == "up"
    assert oper["interface.oper_status"].label("interface") == "ge-0/0/7"


def test_an_unknown_port_is_named_by_its_index():
    observed = by_name(trap_observations(decode_trap("h", link_down(3)), "ci", AT, {}))
    assert observed["interface.oper_status"].label("interface") == "if3"


def test_a_forwarded_trap_is_bound_to_the_original_agent():
    varbinds = [*link_down(), (parse_oid("1.3.6.1.6.3.18.1.3.0"), bytes([10, 0, 0, 2]))]
    assert decode_trap("192.0.2.1", varbinds).sender == "10.0.0.2"


def test_printer_v2_alert_jam_raises_the_jammed_condition():
    alert = "1.3.6.1.2.1.43.18.1.1"
    trap = decode_trap("10.20.1.15", [
        (TRAP_OID, parse_oid("1.3.6.1.2.1.43.18.0.1")),
        (parse_oid(f"{alert}.2.1.4"), 3),
        (parse_oid(f"{alert}.4.1.4"), 13),
        (parse_oid(f"{alert}.5.1.4"), 1),
        (parse_oid(f"{alert}.6.1.4"), 0),
        (parse_oid(f"{alert}.7.1.4"), 8),
    ])
    observed = by_name(trap_observations(trap, "printer", AT))
    assert trap.name == "printerV2Alert"
    assert observed["printer.alert"].state == "jam"
    assert observed["printer.alert"].label("severity") == "critical"
    assert observed["printer.alert"].label("group") == "mediaPath"
    error = observed["printer.error"]
    assert (error.state, error.label("condition")) == ("jammed", "jammed")


def test_cold_start_and_unknown_traps_are_only_trap_events():
    cold = decode_trap("h", [(TRAP_OID, parse_oid("1.3.6.1.6.3.1.1.5.1"))])
    [observation] = trap_observations(cold, "ci", AT)
    assert (observation.name, observation.state) == ("snmp.trap", "coldStart")
    vendor = decode_trap("h", [(TRAP_OID, parse_oid("1.3.6.1.4.1.9.9.41.2.0.1"))])
    assert vendor.name == "1.3.6.1.4.1.9.9.41.2.0.1"


def test_port_names_from_the_ports_attribute():
    ports = [{"if_index": 5, "name": "Gi1/0/5"}, {"if_index": "x"}, "junk"]
    assert port_names({"ports": ports}) == {5: "Gi1/0/5"}
    assert port_names({}) == {}
