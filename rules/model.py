"""Rules as the evaluation core sees them: validated, immutable, no YAML left."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
SEVERITIES = ("critical", "major", "minor", "warning", "info")


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
class Rule:
    """A threshold rule: open when `metric` meets `when` for `for_`; clear when it meets
    `clear` (hysteresis: the clear condition is separate from the open one).

    `failure_mode` names the observation labels that tell failures of one CI apart
    (e.g. `mountpoint`), so each filesystem gets its own incident.
    """

    name: str
    metric: str
    when: Condition
    clear: Condition
    severity: str
    summary: str
    for_: timedelta = timedelta(0)
    ci_classes: frozenset[str] = frozenset()
    match_labels: tuple[tuple[str, str], ...] = ()
    failure_mode: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = field(default=())
