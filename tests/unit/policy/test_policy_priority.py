"""Priority from impact x urgency: CMDB facts + rule -> priority and the reasons an
operator reads."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rules.errors import RuleConfigError
from rules.policy.config import parse_policy
from rules.policy.priority import (
    ImpactedService,
    ImpactFacts,
    PriorityPolicy,
    assess_priority,
)

SALES_DOWN = ImpactedService("Online sales", "high", "down")
SALES_DEGRADED = ImpactedService("Online sales", "high", "degraded")
PAYROLL_DOWN = ImpactedService("Payroll", "medium", "down")
INTRANET_DOWN = ImpactedService("Intranet", "low", "down")
WIKI_DOWN = ImpactedService("Team wiki", None, "down")


@dataclass(frozen=True)
class Case:
    name: str
    facts: ImpactFacts
    severity: str
    urgency: int | None
    level: int
    impact: int
    reasons: tuple[str, ...]
    policy: str = ""


CASES = [
    Case("a high-criticality service down is impact 1; urgency 1 makes P1",
         ImpactFacts((SALES_DOWN,)), "critical", 1, 1, 1,
         ("business service Online sales (criticality high) is down",
          "urgency 1 from rule host-down",
          "impact 1 (high) x urgency 1 (high) = priority 1 (critical)")),
    Case("a degraded high service is impact 2",
         ImpactFacts((SALES_DEGRADED,)), "major", 1, 2, 2,
         ("business service Online sales (criticality high) is degraded",
          "urgency 1 from rule host-down",
          "impact 2 (medium) x urgency 1 (high) = priority 2 (high)")),
    Case("a medium service down is impact 2",
         ImpactFacts((PAYROLL_DOWN,)), "major", 3, 4, 2,
         ("business service Payroll (criticality medium) is down",
          "urgency 3 from rule host-down",
          "impact 2 (medium) x urgency 3 (low) = priority 4 (low)")),
    Case("only the causes of the deciding level are given",
         ImpactFacts((INTRANET_DOWN, SALES_DOWN, PAYROLL_DOWN), dependent_cis=40), "critical",
         2, 2, 1,
         ("business service Online sales (criticality high) is down",
          "urgency 2 from rule host-down",
          "impact 1 (high) x urgency 2 (medium) = priority 2 (high)")),
    Case("every cause at the deciding level is listed",
         ImpactFacts((PAYROLL_DOWN, SALES_DEGRADED), dependent_cis=12), "major", 2, 3, 2,
         ("business service Payroll (criticality medium) is down",
          "business service Online sales (criticality high) is degraded",
          "12 dependent CIs affected (impact 2 from 10)",
          "urgency 2 from rule host-down",
          "impact 2 (medium) x urgency 2 (medium) = priority 3 (moderate)")),
    Case("dependents at the threshold make impact 2",
         ImpactFacts(dependent_cis=10), "major", 1, 2, 2,
         ("10 dependent CIs affected (impact 2 from 10)",
          "urgency 1 from rule host-down",
          "impact 2 (medium) x urgency 1 (high) = priority 2 (high)")),
    Case("dependents below the threshold stay impact 3",
         ImpactFacts(dependent_cis=9, users=3), "warning", None, 5, 3,
         ("no business service affected; 9 dependent CIs, 3 users",
          "urgency 3 from rule host-down (severity warning)",
          "impact 3 (low) x urgency 3 (low) = priority 5 (planning)")),
    Case("a low service down is impact 3 and is still named",
         ImpactFacts((INTRANET_DOWN,)), "critical", None, 3, 3,
         ("below the impact thresholds: business service Intranet (criticality low) is down; "
          "0 dependent CIs, 0 users",
          "urgency 1 from rule host-down (severity critical)",
          "impact 3 (low) x urgency 1 (high) = priority 3 (moderate)")),
    Case("a service without criticality counts as low by default",
         ImpactFacts((WIKI_DOWN,)), "minor", None, 4, 3,
         ("below the impact thresholds: business service Team wiki (criticality not set) is "
          "down; 0 dependent CIs, 0 users",
          "urgency 2 from rule host-down (severity minor)",
          "impact 3 (low) x urgency 2 (medium) = priority 4 (low)")),
    Case("unset_criticality can make it count as medium",
         ImpactFacts((WIKI_DOWN,)), "minor", None, 3, 2,
         ("business service Team wiki (criticality not set) is down",
          "urgency 2 from rule host-down (severity minor)",
          "impact 2 (medium) x urgency 2 (medium) = priority 3 (moderate)"),
         "priority:\n  impact: {unset_criticality: medium}\n"),
    Case("a users threshold makes impact 1",
         ImpactFacts(users=800), "major", 2, 2, 1,
         ("800 users affected (impact 1 from 500)",
          "urgency 2 from rule host-down",
          "impact 1 (high) x urgency 2 (medium) = priority 2 (high)"),
         "priority:\n  impact:\n    high: {service_down: [high], users: 500}\n"),
    Case("configured thresholds replace a level's defaults entirely",
         ImpactFacts((PAYROLL_DOWN,), dependent_cis=50), "major", 2, 5, 3,
         ("below the impact thresholds: business service Payroll (criticality medium) is down; "
          "50 dependent CIs, 0 users",
          "urgency 2 from rule host-down",
          "impact 3 (low) x urgency 2 (medium) = priority 5 (planning)"),
         "priority:\n  impact:\n    medium: {users: 100}\n"
         "  matrix: [[1, 2, 3], [2, 3, 4], [3, 5, 5]]\n"),
    Case("severity_urgency maps a rule's severity",
         ImpactFacts((SALES_DOWN,)), "warning", None, 1, 1,
         ("business service Online sales (criticality high) is down",
          "urgency 1 from rule host-down (severity warning)",
          "impact 1 (high) x urgency 1 (high) = priority 1 (critical)"),
         "priority:\n  severity_urgency: {warning: 1}\n"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_priority(case: Case) -> None:
    policy = parse_policy(case.policy).priority
    priority = assess_priority(case.facts, "host-down", case.severity, case.urgency, policy)
    assert (priority.level, priority.impact) == (case.level, case.impact)
    assert priority.reasons == case.reasons


@pytest.mark.parametrize(
    ("impact_facts", "urgency", "level", "name"),
    [
        (ImpactFacts((SALES_DOWN,)), 1, 1, "critical"),
        (ImpactFacts((SALES_DOWN,)), 2, 2, "high"),
        (ImpactFacts((SALES_DOWN,)), 3, 3, "moderate"),
        (ImpactFacts((PAYROLL_DOWN,)), 1, 2, "high"),
        (ImpactFacts((PAYROLL_DOWN,)), 2, 3, "moderate"),
        (ImpactFacts((PAYROLL_DOWN,)), 3, 4, "low"),
        (ImpactFacts(), 1, 3, "moderate"),
        (ImpactFacts(), 2, 4, "low"),
        (ImpactFacts(), 3, 5, "planning"),
    ],
)
def test_the_default_matrix_is_the_itil_table(impact_facts: ImpactFacts, urgency: int,
                                              level: int, name: str) -> None:
    priority = assess_priority(impact_facts, "r", "info", urgency, PriorityPolicy())
    assert (priority.level, priority.name, priority.urgency) == (level, name, urgency)


def test_an_urgency_outside_1_to_3_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="urgency must be 1, 2 or 3"):
        assess_priority(ImpactFacts(), "r", "info", 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("priority: 3\n", "<policy>:1: field 'priority': must be a mapping"),
        ("priority:\n  impcat: {}\n", "<policy>:2: field 'priority.impcat': unknown field"),
        ("priority:\n  impact:\n    high: {service_down: [urgent]}\n",
         "<policy>:3: field 'priority.impact.high.service_down': unknown criticality 'urgent'"),
        ("priority:\n  impact:\n    medium:\n      dependent_cis: 0\n",
         "<policy>:4: field 'priority.impact.medium.dependent_cis': a whole number >= 1"),
        ("priority:\n  impact:\n    medium: {userz: 5}\n",
         "<policy>:3: field 'priority.impact.medium.userz': unknown field"),
        ("priority:\n  impact: {unset_criticality: none}\n",
         "<policy>:2: field 'priority.impact.unset_criticality': unknown criticality 'none'"),
        ("priority:\n  matrix: [[1, 2], [2, 3]]\n",
         "<policy>:2: field 'priority.matrix': three rows (impact 1..3)"),
        ("priority:\n  matrix: [[1, 2, 3], [2, 3, 4], [3, 4, 6]]\n",
         "<policy>:2: field 'priority.matrix': every priority must be a whole number from 1 to 5"),
        ("priority:\n  matrix: [[1, 2, 3], [2, 3, 4], [3, 2, 5]]\n",
         "<policy>:2: field 'priority.matrix': impact 3 x urgency 2 is more urgent than a cell"),
        ("priority:\n  severity_urgency: {critical: 0}\n",
         "<policy>:2: field 'priority.severity_urgency.critical': a whole number from 1 to 3"),
        ("priority:\n  severity_urgency: {fatal: 1}\n",
         "<policy>:2: field 'priority.severity_urgency.fatal': unknown field"),
    ],
)
def test_priority_config_errors_name_line_and_field(text: str, message: str) -> None:
    with pytest.raises(RuleConfigError) as caught:
        parse_policy(text)
    assert str(caught.value).startswith(message), str(caught.value)
