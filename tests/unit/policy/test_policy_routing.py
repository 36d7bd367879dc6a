"""Routing tree: config + incident -> receivers, assignment group and matched routes
(the shape of Alertmanager's dispatch/route_test.go)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from rules.errors import RuleConfigError
from rules.policy.routing import (
    RoutingInput,
    load_routing,
    parse_routing,
    referenced_receivers,
    route,
)

ROOT = Path(__file__).resolve().parents[3]

TREE = """
route:
  receiver: service-desk
  group: Service Desk
  routes:
    - name: paging
      match_re: {priority: "1|2"}
      receiver: pager
      continue: true
    - name: printers
      match: {ci_class: Printer}
      receiver: print-team
      group: Print Team
      routes:
        - name: supplies
          match_re: {rule: "printer-(toner|paper)-.*"}
          receiver: facilities
          group: Facilities
        - name: printers-east
          match: {location: East}
    - name: hq-network
      match: {ci_class: NetworkDevice}
      match_re: {location: "HQ.*"}
      receivers: [network-oncall, network-chat]
      group: Network
      continue: true
      routes:
        - name: lab
          match: {label.environment: lab}
          receiver: network-chat
    - name: network-audit
      match: {ci_class: NetworkDevice}
      receiver: audit-log
    - name: team-dba
      match: {label.team: dba}
      group: Database Administration
    - name: unlocated
      match: {location: ""}
      receiver: cmdb-hygiene
"""


@dataclass(frozen=True)
class Case:
    name: str
    incident: RoutingInput
    receivers: tuple[str, ...]
    group: str | None
    routes: tuple[str, ...]


def labels(**pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple(pairs.items())


CASES = [
    Case("nothing matches: the root is the default route",
         RoutingInput(ci_class="Computer", location="Leeds", priority=4),
         ("service-desk",), "Service Desk", ("default",)),
    Case("equality on ci_class",
         RoutingInput(ci_class="Printer", location="Leeds", rule="printer-jam", priority=4),
         ("print-team",), "Print Team", ("default/printers",)),
    Case("nested child with its own receiver wins over its parent",
         RoutingInput(ci_class="Printer", location="Leeds", rule="printer-toner-low"),
         ("facilities",), "Facilities", ("default/printers/supplies",)),
    Case("nested child without receiver or group inherits its parent's",
         RoutingInput(ci_class="Printer", location="East", rule="printer-jam"),
         ("print-team",), "Print Team", ("default/printers/printers-east",)),
    Case("first matching child wins: the printer is not also routed as East",
         RoutingInput(ci_class="Printer", location="East", rule="printer-paper-out"),
         ("facilities",), "Facilities", ("default/printers/supplies",)),
    Case("a regex is anchored: HQ.* matches a location starting with HQ",
         RoutingInput(ci_class="NetworkDevice", location="HQ London", priority=3),
         ("network-oncall", "network-chat", "audit-log"), "Network",
         ("default/hq-network", "default/network-audit")),
    Case("a regex is anchored: it does not match HQ in the middle",
         RoutingInput(ci_class="NetworkDevice", location="Old HQ", priority=3),
         ("audit-log",), "Service Desk", ("default/network-audit",)),
    Case("continue fans out to later siblings",
         RoutingInput(ci_class="NetworkDevice", location="HQ-2", priority=3),
         ("network-oncall", "network-chat", "audit-log"), "Network",
         ("default/hq-network", "default/network-audit")),
    Case("a label matcher in a nested route replaces the receivers",
         RoutingInput(ci_class="NetworkDevice", location="HQ", labels=labels(environment="lab")),
         ("network-chat", "audit-log"), "Network",
         ("default/hq-network/lab", "default/network-audit")),
    Case("a fan-out route without its own group does not take the ticket",
         RoutingInput(ci_class="Printer", location="Leeds", rule="printer-jam", priority=1),
         ("pager", "print-team"), "Print Team", ("default/paging", "default/printers")),
    Case("priority matches as text; a P2 on an unrouted CI keeps the default group",
         RoutingInput(ci_class="Computer", location="Leeds", priority=2),
         ("pager",), "Service Desk", ("default/paging",)),
    Case("P3 is not paged",
         RoutingInput(ci_class="Computer", location="Leeds", priority=3),
         ("service-desk",), "Service Desk", ("default",)),
    Case("a route with only a group inherits the root's receivers",
         RoutingInput(ci_class="Server", location="Leeds", labels=labels(team="dba")),
         ("service-desk",), "Database Administration", ("default/team-dba",)),
    Case("a label the incident lacks does not match",
         RoutingInput(ci_class="Server", location="Leeds", labels=labels(owner="dba")),
         ("service-desk",), "Service Desk", ("default",)),
    Case("a missing field reads as empty: match {location: ''} catches unlocated CIs",
         RoutingInput(ci_class="Computer"),
         ("cmdb-hygiene",), "Service Desk", ("default/unlocated",)),
    Case("receivers are deduplicated across fan-out, in tree order",
         RoutingInput(ci_class="NetworkDevice", location="HQ", priority=1,
                      labels=labels(environment="lab")),
         ("pager", "network-chat", "audit-log"), "Network",
         ("default/paging", "default/hq-network/lab", "default/network-audit")),
    Case("an incident with no facts at all reaches the route for unlocated CIs",
         RoutingInput(),
         ("cmdb-hygiene",), "Service Desk", ("default/unlocated",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_route(case: Case) -> None:
    decision = route(parse_routing(TREE), case.incident)
    assert decision.receivers == case.receivers
    assert decision.assignment_group == case.group
    assert decision.routes == case.routes


NESTED = """
route:
  name: root
  receiver: desk
  routes:
    - name: servers
      match: {ci_class: Server}
      group: Server Ops
      routes:
        - name: dc1
          match: {location: DC1}
          receivers: [dc1-oncall]
          routes:
            - name: dc1-db
              match: {support_group: DBA}
"""


@pytest.mark.parametrize(
    ("incident", "receivers", "group", "routes"),
    [
        (RoutingInput(ci_class="Server", location="DC1", support_group="DBA"),
         ("dc1-oncall",), "Server Ops", ("root/servers/dc1/dc1-db",)),
        (RoutingInput(ci_class="Server", location="DC1"),
         ("dc1-oncall",), "Server Ops", ("root/servers/dc1",)),
        (RoutingInput(ci_class="Server", location="DC2"),
         ("desk",), "Server Ops", ("root/servers",)),
        (RoutingInput(ci_class="Computer", location="DC1"), ("desk",), None, ("root",)),
    ],
)
def test_inheritance_runs_down_three_levels(
        incident: RoutingInput, receivers: tuple[str, ...], group: str | None,
        routes: tuple[str, ...]) -> None:
    decision = route(parse_routing(NESTED), incident)
    assert (decision.receivers, decision.assignment_group, decision.routes) == (
        receivers, group, routes)


@pytest.mark.parametrize(
    ("incident", "receivers", "group"),
    [
        (RoutingInput(ci_class="Printer", location="HQ London", rule="printer-toner-low",
                      priority=4), ("servicenow-prod",), "Facilities"),
        (RoutingInput(ci_class="Printer", location="Leeds", rule="printer-jam", priority=3),
         ("servicenow-prod",), "Print Team"),
        (RoutingInput(ci_class="NetworkDevice", location="HQ London", priority=1),
         ("pagerduty-oncall", "servicenow-prod", "chatops"), "Network"),
        (RoutingInput(ci_class="NetworkDevice", location="HQ London", priority=3,
                      labels=(("environment", "lab"),)), ("servicenow-prod", "chatops"),
         "Network"),
        (RoutingInput(ci_class="NetworkDevice", location="Leeds branch", priority=3),
         ("servicenow-prod",), "Network"),
        (RoutingInput(ci_class="Application", support_group="Web team", priority=2),
         ("pagerduty-oncall", "jira-ops", "chatops"), "Web team"),
        (RoutingInput(ci_class="Server", priority=3, labels=(("team", "dba"),)),
         ("servicenow-prod",), "Database Administration"),
        (RoutingInput(ci_class="Computer", priority=5), ("servicenow-prod",),
         "Desktop Support"),
        (RoutingInput(ci_class="BusinessService", priority=4), ("servicenow-prod",),
         "Service Desk"),
    ],
)
def test_the_example_file_routes_like_a_service_desk_expects(
        incident: RoutingInput, receivers: tuple[str, ...], group: str) -> None:
    tree = load_routing(ROOT / "etc" / "routing.example.yaml")
    decision = route(tree, incident)
    assert (decision.receivers, decision.assignment_group) == (receivers, group)


def test_referenced_receivers_lists_every_name_in_the_tree() -> None:
    assert referenced_receivers(parse_routing(NESTED)) == {"desk", "dc1-oncall"}


def test_known_receivers_are_checked_only_when_given() -> None:
    text = "route:\n  receiver: desk\n  routes:\n    - {name: a, match: {rule: x}, receiver: b}\n"
    assert parse_routing(text, known_receivers={"desk", "b"}).routes[0].receivers == ("b",)
    message = "<routing>:4: field 'route[a].receiver': unknown receiver 'b'"
    with pytest.raises(RuleConfigError, match=re.escape(message)):
        parse_routing(text, known_receivers={"desk"})


def child(body: str) -> str:
    return f"route:\n  receiver: desk\n  routes:\n    - name: c\n{body}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("route: [", "<routing>:1: invalid YAML"),
        ("routes: []\n", "<routing>:1: field 'routes': unknown field"),
        ("other: 1\n", "<routing>:1: field 'other': unknown field"),
        ("{}\n", "<routing>:1: field 'route': required"),
        ("route:\n  group: X\n", "<routing>:2: field 'route': the root route is the default: "
                                 "it needs `receiver` or `receivers`"),
        ("route:\n  receiver: desk\n  match: {rule: x}\n",
         "<routing>:3: field 'route.match': unknown field"),
        ("route:\n  receiver: ''\n", "<routing>:2: field 'route.receiver': must be a non-empty"),
        ("route:\n  receivers: []\n",
         "<routing>:2: field 'route.receivers': must name at least one receiver"),
        ("route:\n  receivers: [a, '  ']\n",
         "<routing>:2: field 'route.receivers': must be a non-empty string or a list"),
        ("route:\n  receivers: [a, a]\n", "<routing>:2: field 'route.receivers': lists a value"),
        ("route:\n  receiver: a\n  receivers: [b]\n",
         "<routing>:3: field 'route.receivers': give `receiver` or `receivers`, not both"),
        ("route:\n  receiver: a\n  receiver: b\n", "<routing>:3: invalid YAML: duplicate key"),
        (child("      receiver: x\n"), "<routing>:4: field 'route[c]': a child route needs "
                                       "`match` or `match_re`"),
        (child("      match: {ci_clas: Printer}\n"),
         "<routing>:5: field 'route[c].match.ci_clas': not a matchable field"),
        (child("      match: {ci_class: Printr}\n"),
         "<routing>:5: field 'route[c].match.ci_class': 'Printr' can never match"),
        (child("      match: {severity: high}\n"),
         "<routing>:5: field 'route[c].match.severity': 'high' can never match"),
        (child("      match: {priority: 7}\n"),
         "<routing>:5: field 'route[c].match.priority': '7' can never match"),
        (child("      match: {location: no}\n"),
         "<routing>:5: field 'route[c].match.location': must be a string (quote YAML words"),
        (child("      match_re:\n        location: 'HQ(['\n"),
         "<routing>:6: field 'route[c].match_re.location': invalid regular expression"),
        (child("      match_re: {location: '^HQ'}\n"),
         "<routing>:5: field 'route[c].match_re.location': match_re is anchored at both ends "
         "already; write 'HQ.*' to match the start"),
        (child("      match_re: {ci_name: '-sw$'}\n"),
         "<routing>:5: field 'route[c].match_re.ci_name': match_re is anchored at both ends "
         "already; write '.*-sw' to match the end"),
        (child("      match: {rule: x}\n      continue: maybe\n"),
         "<routing>:6: field 'route[c].continue': must be true or false"),
        (child("      match: {rule: x}\n      colour: red\n"),
         "<routing>:6: field 'route[c].colour': unknown field"),
        (child("      match: {rule: x}\n      group: 5\n"),
         "<routing>:6: field 'route[c].group': must be a non-empty string"),
        ("route:\n  receiver: d\n  routes:\n    - {name: Bad Name, match: {rule: x}}\n",
         "<routing>:4: field 'route.routes[1].name': required; lower-case"),
        ("route:\n  receiver: d\n  routes:\n    - {name: a, match: {rule: x}}\n"
         "    - {name: a, match: {rule: y}}\n",
         "<routing>:5: field 'route[a].name': another route is already called 'a'"),
        ("route:\n  receiver: d\n  routes: [a]\n",
         "<routing>:3: field 'route.routes': item 1 must be a mapping"),
    ],
)
def test_load_errors_name_file_line_and_field(text: str, message: str) -> None:
    with pytest.raises(RuleConfigError) as caught:
        parse_routing(text)
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(RuleConfigError, match=re.escape("missing.yaml: cannot read")):
        load_routing(tmp_path / "missing.yaml")


def test_a_bad_regex_in_a_file_names_that_file(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(child("      match_re: {location: '(('}\n"), encoding="utf-8")
    with pytest.raises(RuleConfigError, match=re.escape(f"{path}:5: field 'route[c].match_re")):
        load_routing(path)
