"""Rules as the evaluation core sees them: validated, immutable, no YAML left."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
SEVERITIES = ("critical", "major", "minor", "warning", "info")
# ITIL urgency (1 high .. 3 low) when a rule does not say.
DEFAULT_URGENCY = {"critical": 1, "major": 2, "minor": 2, "warning": 3, "info": 3}
RuleKind = Literal["threshold", "absence", "state"]


@dataclass(frozen=True, slots=True)
class Condition:
    """`value <op> threshold`, e.g. `> 90`."""

    op: str
    threshold: float

    def holds(self, value: float) -> bool:
        return COMPARATORS[self.op](value, self.threshold)

    def __str__(self) -> str:
        return f"{self.op} {self.threshold:g}"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which CIs and observations a rule applies to; empty means any."""

    ci_classes: frozenset[str] = frozenset()
    attributes: tuple[tuple[str, str], ...] = ()
    locations: frozenset[str] = frozenset()
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule. Kinds:

    - `threshold`: open when `metric` meets `when` for `for_`; clear when it meets
      `clear` for `clear_for` (hysteresis: the clear condition is separate).
    - `absence`: open when no `metric` observation came for `for_` (host silent,
      device unreachable); clear when data comes again.
    - `state`: open when the observation's state is in `states` for `for_`; clear
      when it is not (printer jammed, interface down, an Alertmanager alert firing).

    `failure_mode` names the observation labels that tell failures of one CI apart
    (a mountpoint, a supply, an interface). `root_cause` says whether incidents of
    this rule take part in root-cause correlation on the CI graph (availability
    failures do; a full disk does not explain its neighbours' full disks).
    """

    name: str
    kind: RuleKind
    metric: str
    severity: str
    urgency: int
    summary: str
    description: str = ""
    when: Condition | None = None
    clear: Condition | None = None
    states: frozenset[str] = frozenset()
    for_: timedelta = timedelta(0)
    clear_for: timedelta = timedelta(0)
    scope: Scope = Scope()
    failure_mode: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    root_cause: bool = False
