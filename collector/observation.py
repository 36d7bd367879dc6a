"""What every source hands on: observations for the rules engine, inventory for the CMDB.

Agents, the SNMP poller and event intake all reduce what they receive to these two
types. They carry no behaviour, so the rules core and the CMDB can be tested on them
without any source running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Unit = Literal[
    "percent",
    "bytes",
    "bytes_per_second",
    "seconds",
    "count",
    "per_second",
    "celsius",
    "rpm",
    "ratio",
    "load",
    "state",
]
UNITS: frozenset[str] = frozenset(Unit.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Observation:
    """One measured value (or state) of one CI at one time.

    `ci_id` is the CMDB id once the source's inventory has been reconciled.
    `state` carries a discrete value (``"down"``, ``"jammed"``) for state rules;
    `value` a number for threshold rules.
    """

    ci_id: str
    name: str
    observed_at: datetime
    source: str
    value: float | None = None
    unit: Unit = "state"
    state: str | None = None
    labels: tuple[tuple[str, str], ...] = ()

    def label(self, key: str) -> str | None:
        for name, value in self.labels:
            if name == key:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Inventory:
    """What one source knows of one CI: identity evidence and attributes.

    `identity` holds the raw evidence (serial, uuid, macs, fqdn, hostname, sys_name,
    address); the CMDB decides which of it is trustworthy and which CI it names.
    """

    source: str
    ci_class: str
    identity: dict[str, object]
    attributes: dict[str, object] = field(default_factory=dict)
    seen_at: datetime | None = None
