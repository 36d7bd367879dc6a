"""ITIL priority: impact (from the CMDB) x urgency (from the rule) -> 1 critical .. 5 planning.

Impact is 1 (high) when any of the `high` thresholds holds, else 2 (medium) when any
of the `medium` ones does, else 3 (low). A threshold is one of: a business service
of a listed criticality is down; one is degraded (redundancy partly lost); at least
N dependent CIs are affected; at least N users are. A service with no criticality
set counts as `unset_criticality` (default low). Urgency comes from the rule, or
from its severity when the rule sets none. The matrix turns the pair into a
priority, and `Priority.reasons` says why in words an operator reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from rules.model import SEVERITIES
from rules.policy.document import Section

Criticality = Literal["high", "medium", "low"]
CRITICALITIES: tuple[Criticality, ...] = ("high", "medium", "low")
ServiceStatus = Literal["down", "degraded"]
IMPACT_NAMES = {1: "high", 2: "medium", 3: "low"}
URGENCY_NAMES = {1: "high", 2: "medium", 3: "low"}
PRIORITY_NAMES = {1: "critical", 2: "high", 3: "moderate", 4: "low", 5: "planning"}
# Rows are impact 1..3, columns urgency 1..3 (the usual ITIL table).
DEFAULT_MATRIX = ((1, 2, 3), (2, 3, 4), (3, 4, 5))
DEFAULT_SEVERITY_URGENCY = (("critical", 1), ("major", 2), ("minor", 2), ("warning", 3),
                            ("info", 3))


class ImpactedService(NamedTuple):
    """A business service the failed CI affects (from `cmdb.impact`)."""

    name: str
    criticality: Criticality | None
    status: ServiceStatus


@dataclass(frozen=True, slots=True)
class ImpactFacts:
    """What the CMDB says is behind the failed CI."""

    business_services: tuple[ImpactedService, ...] = ()
    dependent_cis: int = 0
    users: int = 0


@dataclass(frozen=True, slots=True)
class ImpactThreshold:
    """Any one of these makes the impact this level; None/empty disables a test."""

    down: frozenset[Criticality] = frozenset()
    degraded: frozenset[Criticality] = frozenset()
    dependent_cis: int | None = None
    users: int | None = None


@dataclass(frozen=True, slots=True)
class PriorityPolicy:
    high: ImpactThreshold = ImpactThreshold(down=frozenset({"high"}))
    medium: ImpactThreshold = ImpactThreshold(
        down=frozenset({"medium"}), degraded=frozenset({"high"}), dependent_cis=10)
    unset_criticality: Criticality = "low"
    matrix: tuple[tuple[int, ...], ...] = DEFAULT_MATRIX
    severity_urgency: tuple[tuple[str, int], ...] = field(default=DEFAULT_SEVERITY_URGENCY)


@dataclass(frozen=True, slots=True)
class Priority:
    level: int
    impact: int
    urgency: int
    reasons: tuple[str, ...]

    @property
    def name(self) -> str:
        return PRIORITY_NAMES[self.level]


def assess_priority(facts: ImpactFacts, rule: str, severity: str, urgency: int | None = None,
                    policy: PriorityPolicy | None = None) -> Priority:
    """The priority of an incident raised by `rule` (with `severity`, and `urgency` if
    the rule sets one) on a CI with `facts` behind it."""
    policy = policy or PriorityPolicy()
    impact, causes = assess_impact(facts, policy)
    if urgency is None:
        urgency = dict(policy.severity_urgency).get(severity, 3)
        urgency_reason = f"urgency {urgency} from rule {rule} (severity {severity})"
    else:
        urgency_reason = f"urgency {urgency} from rule {rule}"
    if urgency not in URGENCY_NAMES:
        raise ValueError(f"urgency must be 1, 2 or 3, not {urgency!r}")
    level = policy.matrix[impact - 1][urgency - 1]
    verdict = (f"impact {impact} ({IMPACT_NAMES[impact]}) x urgency {urgency} "
               f"({URGENCY_NAMES[urgency]}) = priority {level} ({PRIORITY_NAMES[level]})")
    return Priority(level, impact, urgency, (*causes, urgency_reason, verdict))


def assess_impact(facts: ImpactFacts, policy: PriorityPolicy) -> tuple[int, tuple[str, ...]]:
    """The impact level and the facts that set it."""
    for level, threshold in ((1, policy.high), (2, policy.medium)):
        causes = _causes(facts, threshold, level, policy.unset_criticality)
        if causes:
            return level, causes
    return 3, (_why_low(facts),)


def _causes(facts: ImpactFacts, threshold: ImpactThreshold, level: int,
            unset: Criticality) -> tuple[str, ...]:
    causes = []
    for service in facts.business_services:
        criticality = service.criticality or unset
        hit = threshold.down if service.status == "down" else threshold.degraded
        if criticality in hit:
            causes.append(f"business service {service.name} "
                          f"(criticality {service.criticality or 'not set'}) is {service.status}")
    if threshold.dependent_cis is not None and facts.dependent_cis >= threshold.dependent_cis:
        causes.append(f"{facts.dependent_cis} dependent CIs affected "
                      f"(impact {level} from {threshold.dependent_cis})")
    if threshold.users is not None and facts.users >= threshold.users:
        causes.append(f"{facts.users} users affected (impact {level} from {threshold.users})")
    return tuple(causes)


def _why_low(facts: ImpactFacts) -> str:
    services = [f"business service {s.name} (criticality {s.criticality or 'not set'}) is "
                f"{s.status}" for s in facts.business_services]
    counts = f"{facts.dependent_cis} dependent CIs, {facts.users} users"
    if not services:
        return f"no business service affected; {counts}"
    return f"below the impact thresholds: {'; '.join(services)}; {counts}"


# Configuration ----------------------------------------------------------------------

_FIELDS = ("impact", "matrix", "severity_urgency")
_IMPACT_FIELDS = ("high", "medium", "unset_criticality")
_THRESHOLD_FIELDS = ("service_down", "service_degraded", "dependent_cis", "users")


def parse_priority_policy(section: Section) -> PriorityPolicy:
    """The `priority:` section; anything it leaves out keeps its default."""
    section.only(_FIELDS)
    default = PriorityPolicy()
    impact = section.section("impact")
    impact.only(_IMPACT_FIELDS)
    unset = default.unset_criticality
    if impact.has("unset_criticality"):
        [unset] = _criticalities(impact, "unset_criticality", single=True)
    return PriorityPolicy(
        high=_threshold(impact, "high", default.high),
        medium=_threshold(impact, "medium", default.medium),
        unset_criticality=unset,
        matrix=_matrix(section) if section.has("matrix") else default.matrix,
        severity_urgency=_severity_urgency(section, default.severity_urgency),
    )


def _threshold(impact: Section, key: str, default: ImpactThreshold) -> ImpactThreshold:
    if not impact.has(key):
        return default
    raw = impact.section(key)
    raw.only(_THRESHOLD_FIELDS)
    return ImpactThreshold(
        down=frozenset(_criticalities(raw, "service_down")),
        degraded=frozenset(_criticalities(raw, "service_degraded")),
        dependent_cis=raw.integer("dependent_cis", 0, 1) if raw.has("dependent_cis") else None,
        users=raw.integer("users", 0, 1) if raw.has("users") else None,
    )


def _criticalities(raw: Section, key: str, single: bool = False) -> tuple[Criticality, ...]:
    values = (raw.text(key),) if single else raw.texts(key)
    bad = [v for v in values if v not in CRITICALITIES]
    if bad:
        raise raw.fail(key, f"unknown criticality {bad[0]!r}; use {', '.join(CRITICALITIES)}")
    return tuple(c for c in CRITICALITIES if c in values)


def _matrix(section: Section) -> tuple[tuple[int, ...], ...]:
    raw = section.value("matrix")
    shape_ok = isinstance(raw, list) and len(raw) == 3 and all(
        isinstance(row, list) and len(row) == 3 for row in raw)
    if not shape_ok:
        raise section.fail("matrix", "three rows (impact 1..3) of three priorities "
                                     "(urgency 1..3), e.g. [[1, 2, 3], [2, 3, 4], [3, 4, 5]]")
    assert isinstance(raw, list)
    cells = [cell for row in raw for cell in row]
    if not all(isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= 5 for c in cells):
        raise section.fail("matrix", "every priority must be a whole number from 1 to 5")
    matrix = tuple(tuple(int(c) for c in row) for row in raw)
    for i in range(3):
        for j in range(3):
            if (i and matrix[i][j] < matrix[i - 1][j]) or (j and matrix[i][j] < matrix[i][j - 1]):
                raise section.fail("matrix", f"impact {i + 1} x urgency {j + 1} is more urgent "
                                             "than a cell with higher impact or urgency")
    return matrix


def _severity_urgency(section: Section,
                      default: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    raw = section.section("severity_urgency")
    raw.only(SEVERITIES)
    mapping = dict(default)
    for severity in SEVERITIES:
        if raw.has(severity):
            mapping[severity] = raw.integer(severity, 3, 1, 3)
    return tuple(mapping.items())
