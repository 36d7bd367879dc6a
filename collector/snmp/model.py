"""What one SNMP poll of one device produces.

The poller does not know CMDB ids, so it hands on a `PollResult`: the device address,
an `Inventory`, metric `Sample`s (an `Observation` without `ci_id` and time),
relations seen from the device (MACs behind switch ports, LLDP neighbours) and a
typed `Reachability`. `PollResult.observations(ci_id)` turns it into observations
once the CMDB has named the CI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from collector.observation import Inventory, Observation, Unit
from collector.snmp.errors import Reachability, SnmpError

SOURCE = "snmp"
REACHABILITY_SAMPLE = "snmp.reachability"


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured value (or state) of the polled device.

    `value` carries a number for threshold rules; `state` a discrete value for state
    rules (``unit="state"``). Counters (octets, page counts) are raw totals: rates
    are computed downstream.
    """

    name: str
    value: float | None = None
    unit: Unit = "state"
    state: str | None = None
    labels: tuple[tuple[str, str], ...] = ()

    def label(self, key: str) -> str | None:
        for name, value in self.labels:
            if name == key:
                return value
        return None

    def to_observation(self, ci_id: str, observed_at: datetime, source: str) -> Observation:
        return Observation(
            ci_id=ci_id,
            name=self.name,
            observed_at=observed_at,
            source=source,
            value=self.value,
            unit=self.unit,
            state=self.state,
            labels=self.labels,
        )


def value_sample(
    name: str, value: float, unit: Unit, labels: Mapping[str, str] | None = None
) -> Sample:
    return Sample(name=name, value=float(value), unit=unit, labels=_labels(labels))


def state_sample(name: str, state: str, labels: Mapping[str, str] | None = None) -> Sample:
    return Sample(name=name, state=state, unit="state", labels=_labels(labels))


def _labels(labels: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((labels or {}).items()))


@dataclass(frozen=True, slots=True)
class PortMac:
    """A MAC address learned behind a switch port (BRIDGE-MIB / Q-BRIDGE-MIB FDB).

    A port with many MACs is usually an uplink; the CMDB decides which entries mean
    "directly connected".
    """

    port: str
    if_index: int | None
    mac: str
    vlan: int | None = None


@dataclass(frozen=True, slots=True)
class LldpNeighbour:
    """A neighbour announced over LLDP on one local port.

    `chassis_id_kind` is the LLDP subtype name (``mac``, ``network_address``,
    ``interface_name``, ``local``, ...); a ``mac`` chassis id is formatted
    ``aa:bb:cc:dd:ee:ff``.
    """

    local_port: str
    chassis_id: str
    chassis_id_kind: str
    port_id: str
    port_description: str = ""
    system_name: str = ""


Relation = PortMac | LldpNeighbour


@dataclass(frozen=True, slots=True)
class PollResult:
    """One device's poll: inventory, samples, relations and how reachable it was.

    A device that did not answer has `reachability` UNREACHABLE, no inventory and a
    `failures` entry; it is never an empty success. When the system group answered
    but a later request failed, the result keeps what was read and is DEGRADED.
    """

    address: str
    polled_at: datetime
    reachability: Reachability
    inventory: Inventory | None = None
    samples: tuple[Sample, ...] = ()
    relations: tuple[Relation, ...] = ()
    failures: tuple[SnmpError, ...] = field(default=())

    @property
    def failure(self) -> SnmpError | None:
        """The failure that decided `reachability`, if any."""
        return self.failures[0] if self.failures else None

    def samples_named(self, name: str) -> list[Sample]:
        return [sample for sample in self.samples if sample.name == name]

    def reachability_sample(self) -> Sample:
        """``snmp.reachability``: the state, and the failure's kind as ``error``
        (``timeout``, ``wrong_digest``, ...) when the poll was not clean."""
        failure = self.failure
        labels = {"error": failure.kind} if failure is not None else None
        return state_sample(REACHABILITY_SAMPLE, self.reachability.value, labels)

    def observations(self, ci_id: str, source: str = SOURCE) -> list[Observation]:
        """Every sample, plus the reachability state, as observations of `ci_id`."""
        reachability = self.reachability_sample()
        return [
            sample.to_observation(ci_id, self.polled_at, source)
            for sample in (reachability, *self.samples)
        ]
