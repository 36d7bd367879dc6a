"""The pure core, scenario by scenario, with an injected clock: no store, no HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rules.context import Policy, Route
from rules.view import CIView
from tests.unit.enginekit import Harness, metric, minutes, seconds, star, state

FS = """
rules:
  - name: fs-full
    metric: host.filesystem.used
    when: "> 90"
    clear: "< 80"
    for: 5m
    severity: major
    summary: "{ci}: {label.mountpoint} at {value}%"
    failure_mode: [mountpoint]
"""
DOWN = """
rules:
  - name: host-down
    kind: state
    metric: host.reachability
    states: [down]
    severity: critical
    summary: "{ci} is down"
"""
PC = [CIView("pc", "Computer", "pc-0042"), CIView("srv", "Server", "db-01")]
NO_HOLD = Policy(hold_down=timedelta(0),
                 route=lambda incident, ci: Route(("service-desk",), "Service Desk"))


def kinds(decisions: list[object]) -> list[str]:
    return [d.kind for d in decisions]  # type: ignore[attr-defined]


def test_a_breach_shorter_than_for_opens_nothing() -> None:
    h = Harness(FS, PC)
    for at, value in ((0, 95), (4, 96), (4.5, 50), (6, 70)):
        h.observe([metric("pc", "host.filesystem.used", value, minutes(at), mountpoint="/")],
                  minutes(at))
    assert h.incidents == []
    assert kinds(h.decisions) == ["pending", "pending_cancelled"]


def test_a_breach_held_for_the_duration_opens_once_and_counts_repeats() -> None:
    h = Harness(FS, PC)
    for at in (0, 3, 5, 6):
        h.observe([metric("pc", "host.filesystem.used", 95, minutes(at), mountpoint="/")],
                  minutes(at))
    [incident] = h.incidents
    assert incident.summary == "pc-0042: / at 95%"
    assert incident.fingerprint == "fs-full|pc|mountpoint=/"
    assert incident.opened_at == minutes(5)
    assert incident.occurrences == 2
    assert incident.labels == {"mountpoint": "/"}


def test_nothing_is_notified_during_the_hold_down_then_the_open_is() -> None:
    h = Harness(DOWN, PC)
    h.observe([state("pc", "host.reachability", "down", seconds(0))], seconds(0))
    assert h.sent() == []
    h.tick(seconds(29))
    assert h.sent() == []
    h.tick(seconds(30))
    assert h.sent() == [("host-down|pc|", "service-desk", "opened")]
    [incident] = h.incidents
    assert incident.notified
    assert incident.assignment_group == "Service Desk"


def test_hysteresis_keeps_it_open_between_thresholds_and_clear_for_waits() -> None:
    rules = FS.replace('clear: "< 80"', 'clear: "< 80"\n    clear_for: 2m')
    h = Harness(rules, PC, policy=NO_HOLD)
    for at, value in ((0, 95), (5, 95), (6, 85), (7, 79), (8, 78), (9.5, 70)):
        h.observe([metric("pc", "host.filesystem.used", value, minutes(at), mountpoint="/")],
                  minutes(at))
    [incident] = h.incidents
    assert incident.state == "resolved"
    assert incident.resolved_at == minutes(9.5)
    assert h.sent() == [("fs-full|pc|mountpoint=/", "service-desk", "opened"),
                        ("fs-full|pc|mountpoint=/", "service-desk", "resolved")]


def test_each_failure_mode_is_its_own_incident() -> None:
    h = Harness(FS.replace("for: 5m", "for: 0s"), PC)
    h.observe([metric("pc", "host.filesystem.used", 95, minutes(0), mountpoint="/"),
               metric("pc", "host.filesystem.used", 95, minutes(0), mountpoint="/home")],
              minutes(0))
    assert sorted(i.fingerprint for i in h.incidents) == [
        "fs-full|pc|mountpoint=/", "fs-full|pc|mountpoint=/home"]


def test_scope_limits_rules_to_classes_attributes_and_labels() -> None:
    rules = """
rules:
  - name: server-cpu
    metric: host.cpu.utilization
    when: "> 95"
    scope: {ci_class: [Server], labels: {cpu: total}, attributes: {env: prod}}
"""
    cis = [CIView("pc", "Computer", "pc"), CIView("srv", "Server", "db", {"env": "prod"}),
           CIView("dev", "Server", "dev-db", {"env": "dev"})]
    h = Harness(rules, cis)
    h.observe([metric(ci, "host.cpu.utilization", 99, minutes(0), cpu=cpu)
               for ci in ("pc", "srv", "dev") for cpu in ("total", "0")], minutes(0))
    assert [i.ci_id for i in h.incidents] == ["srv"]


def test_a_recurrence_within_the_window_reopens_the_same_incident() -> None:
    h = Harness(DOWN, PC, policy=NO_HOLD)
    h.observe([state("pc", "host.reachability", "down", minutes(0))], minutes(0))
    h.observe([state("pc", "host.reachability", "up", minutes(5))], minutes(5))
    h.observe([state("pc", "host.reachability", "down", minutes(20))], minutes(20))
    [incident] = h.incidents
    assert incident.state == "reopened"
    assert incident.reopen_count == 1
    assert [e for _, _, e in h.sent()] == ["opened", "resolved", "reopened"]
    h.observe([state("pc", "host.reachability", "up", minutes(30))], minutes(30))
    h.observe([state("pc", "host.reachability", "down", minutes(200))], minutes(200))
    assert len(h.incidents) == 2  # outside the reopen window: a new incident


def test_a_flapping_interface_over_an_hour_is_one_flagged_incident() -> None:
    rules = """
rules:
  - name: interface-down
    kind: state
    metric: interface.oper_status
    states: [down]
    failure_mode: [interface]
"""
    h = Harness(rules, [CIView("sw", "NetworkDevice", "access-1")], policy=NO_HOLD)
    for n in range(30):  # down/up every minute for an hour
        at = minutes(2 * n)
        h.observe([state("sw", "interface.oper_status", "down", at, interface="Gi1/0/7")], at)
        h.observe([state("sw", "interface.oper_status", "up", at + timedelta(minutes=1),
                         interface="Gi1/0/7")], at + timedelta(minutes=1))
    [incident] = h.incidents
    assert incident.flapping
    assert incident.is_open
    # Notified while it was still a plain failure; nothing since it was flagged.
    events = [e for _, _, e in h.sent()]
    assert events.count("opened") == 1
    assert len(events) <= 2 * 3 + 1
    assert "flapping" in kinds(h.decisions)
    h.tick(minutes(58 + 59))  # the last failure was at minute 58
    assert h.incidents[0].is_open
    h.tick(minutes(58 + 61))  # an hour with no failure: quiet, resolved
    assert h.incidents[0].state == "resolved"


def test_toner_low_on_30_printers_is_30_incidents_routed_to_the_print_team() -> None:
    rules = """
rules:
  - name: toner-low
    kind: state
    metric: printer.supply.state
    states: [low, empty]
    failure_mode: [supply]
    root_cause: false
"""
    printers = [CIView(f"prn{n}", "Printer", f"prn-{n}") for n in range(30)]
    route = Policy(route=lambda incident, ci: Route(
        ("print-team",) if ci and ci.ci_class == "Printer" else ("service-desk",), "Print"))
    h = Harness(rules, printers, policy=route)
    h.observe([state(f"prn{n}", "printer.supply.state", "low", seconds(n), supply="Black Toner")
               for n in range(30)], seconds(30))
    h.tick(seconds(90))
    assert len(h.incidents) == 30
    assert {r for _, r, _ in h.sent("opened")} == {"print-team"}
    assert len(h.sent("opened")) == 30


def test_a_ci_under_maintenance_is_recorded_not_notified() -> None:
    window = Policy(hold_down=timedelta(0), route=lambda i, ci: Route(("service-desk",), None),
                    maintenance=lambda incident, ci, upstream, now:
                    "patch night" if incident.ci_id == "srv" else None)
    h = Harness(DOWN, PC, policy=window)
    h.observe([state("srv", "host.reachability", "down", minutes(0)),
               state("pc", "host.reachability", "down", minutes(0))], minutes(0))
    assert [f for f, _, _ in h.sent()] == ["host-down|pc|"]
    srv = next(i for i in h.incidents if i.ci_id == "srv")
    assert srv.suppressed_by == "patch night"
    assert not srv.notified


@pytest.mark.parametrize("switch_first", [False, True])
def test_a_switch_with_200_pcs_down_is_one_ticket_with_200_children(switch_first: bool
                                                                    ) -> None:
    cis, edges = star(1, 200)
    h = Harness(DOWN, cis, edges)
    pcs = [state(f"pc0-{p}", "host.reachability", "down", seconds(1 + p / 100))
           for p in range(200)]
    switch = [state("sw0", "host.reachability", "down", seconds(5))]
    for batch in ([switch, pcs] if switch_first else [pcs, switch]):
        h.observe(batch, seconds(5))
    h.tick(seconds(40))

    [root] = [i for i in h.incidents if i.parent_id is None]
    assert root.ci_id == "sw0"
    children = [i for i in h.incidents if i.parent_id == root.id]
    assert len(children) == 200
    assert children[0].caused_by == (("sw0", "CONNECTED_TO"),)
    assert h.sent() == [("host-down|sw0|", "service-desk", "opened")]


def test_the_upstream_most_failure_is_the_root() -> None:
    cis, edges = star(2, 3)
    h = Harness(DOWN, cis, edges)
    h.observe([state(c, "host.reachability", "down", seconds(1))
               for c in ("pc0-0", "pc1-2", "sw0", "sw1", "core")], seconds(1))
    h.tick(seconds(31))
    [root] = [i for i in h.incidents if i.parent_id is None]
    assert root.ci_id == "core"
    assert len([i for i in h.incidents if i.parent_id == root.id]) == 4
    pc = next(i for i in h.incidents if i.ci_id == "pc1-2")
    assert pc.caused_by == (("sw1", "CONNECTED_TO"), ("core", "CONNECTED_TO"))
    assert [f for f, _, _ in h.sent()] == ["host-down|core|"]


def test_one_of_two_redundant_uplinks_down_is_not_the_root() -> None:
    from cmdb.store import ImpactEdge

    cis = [CIView("a", "NetworkDevice", "uplink-a"), CIView("b", "NetworkDevice", "uplink-b"),
           CIView("pc", "Computer", "pc")]
    edges = [ImpactEdge("pc", "CONNECTED_TO", "a", "uplinks"),
             ImpactEdge("pc", "CONNECTED_TO", "b", "uplinks")]
    h = Harness(DOWN, cis, edges)
    h.observe([state("a", "host.reachability", "down", seconds(0)),
               state("pc", "host.reachability", "down", seconds(1))], seconds(1))
    h.tick(seconds(40))
    assert all(i.parent_id is None for i in h.incidents)
    assert len(h.sent("opened")) == 2
    h.observe([state("b", "host.reachability", "down", seconds(50))], seconds(50))
    pc = next(i for i in h.incidents if i.ci_id == "pc")
    assert pc.parent_id is not None  # both uplinks down: now it is explained


def test_a_restart_mid_storm_neither_duplicates_nor_forgets() -> None:
    cis, edges = star(2, 50)
    h = Harness(DOWN, cis, edges)
    h.observe([state(f"pc0-{p}", "host.reachability", "down", seconds(1)) for p in range(50)],
              seconds(1))
    h.restart()
    h.observe([state(f"pc0-{p}", "host.reachability", "down", seconds(2)) for p in range(50)]
              + [state("sw0", "host.reachability", "down", seconds(3))], seconds(3))
    h.restart()
    h.tick(seconds(40))
    assert len(h.incidents) == 51
    assert len({i.fingerprint for i in h.incidents}) == 51
    assert [f for f, _, _ in h.sent()] == ["host-down|sw0|"]


def test_resolving_the_root_frees_children_still_down() -> None:
    cis, edges = star(1, 2)
    h = Harness(DOWN, cis, edges)
    h.observe([state(c, "host.reachability", "down", seconds(0))
               for c in ("sw0", "pc0-0", "pc0-1")], seconds(0))
    h.tick(seconds(31))
    h.observe([state("sw0", "host.reachability", "up", seconds(60)),
               state("pc0-0", "host.reachability", "up", seconds(60))], seconds(60))
    h.tick(seconds(95))
    still = next(i for i in h.incidents if i.ci_id == "pc0-1")
    assert still.parent_id is None
    assert ("host-down|pc0-1|", "service-desk", "opened") in h.sent()
    assert ("host-down|sw0|", "service-desk", "resolved") in h.sent()


def test_absence_fires_after_silence_and_clears_on_data() -> None:
    rules = """
rules:
  - name: host-silent
    kind: absence
    metric: agent.heartbeat
    for: 5m
    severity: major
"""
    h = Harness(rules, PC, policy=NO_HOLD)
    h.observe([metric("pc", "agent.heartbeat", 1, minutes(0))], minutes(0))
    h.tick(minutes(4))
    assert h.incidents == []
    h.tick(minutes(6))
    [incident] = h.incidents
    assert incident.opened_at == minutes(5)
    h.observe([metric("pc", "agent.heartbeat", 1, minutes(7))], minutes(7))
    assert h.incidents[0].state == "resolved"


def test_sla_breach_escalates_once_and_reminders_repeat() -> None:
    from rules.context import SlaDue

    def sla(incident: object, now: object) -> list[SlaDue]:
        i = incident
        if now >= i.opened_at + timedelta(minutes=15) and "r" not in i.sla_emitted:  # type: ignore[attr-defined,operator]
            return [SlaDue("r", "breach", "response", ("duty-manager",), True)]
        return []

    policy = Policy(hold_down=timedelta(0), repeat_interval=timedelta(hours=4),
                    route=lambda i, ci: Route(("service-desk",), None), sla=sla,
                    next_sla_check=lambda i: None if "r" in i.sla_emitted
                    else i.opened_at + timedelta(minutes=15))
    h = Harness(DOWN, PC, policy=policy)
    h.observe([state("pc", "host.reachability", "down", minutes(0))], minutes(0))
    h.tick(minutes(16))
    h.tick(minutes(17))
    h.tick(minutes(4 * 60 + 20))
    assert [(r, e) for _, r, e in h.sent()] == [
        ("service-desk", "opened"), ("duty-manager", "escalated"),
        ("service-desk", "priority_changed"), ("service-desk", "reminder")]


def test_templates_cannot_reach_into_objects() -> None:
    from rules.render import render

    assert render("{value.__class__} {ci} {label.port}", {"ci": "pc", "label.port": "7"}) == (
        "{value.__class__} pc 7")
