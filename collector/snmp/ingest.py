"""One SNMP poll result into the CMDB and the rules engine, in one write transaction.

load, for a `PollResult`:

1. **Reconcile** the device's `Inventory` (source ``snmp``): the CI is found or made
   by its identity (serial, MAC, sysName + address) and its attributes merged.
2. **Relate** the hosts behind the switch's edge ports (`collector.snmp.topology`):
   each MAC that a CI owns (its ``mac:`` identity key) becomes
   ``host -[CONNECTED_TO {port, vlan}]-> switch``. MACs no CI owns are skipped.
3. **Evaluate** the poll's observations, ``snmp.reachability`` included, with the
   rules, writing incident changes and their outbox entries in the same transaction.

A device that did not answer (no inventory) changes nothing in the CMDB: no
attribute, no ``last_seen``, no relationship. It is found by the identity of the
`DeviceRef` it was polled as (sysName + address from discovery) and only its
``snmp.reachability`` observation (``unreachable``, ``error=timeout``) is evaluated.

Port status is judged by change, as a switch is cabled: an ``interface.oper_status``
observation is evaluated while the port is up or when it was up at the previous
poll. A port that has never been seen up is an unused socket, not an outage, and a
port that stays down keeps its incident open without counting repeats.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cmdb.classes import ci_class
from cmdb.identity import identity_keys
from cmdb.reconcile import reconcile_in
from cmdb.records import Reconciliation
from cmdb.relations import Link, relate_in
from cmdb.store import GraphStore, WriteTx
from collector.observation import Observation
from collector.snmp.model import SOURCE, PollResult
from collector.snmp.topology import (
    MAX_MACS_PER_EDGE_PORT,
    edge_hosts,
    lldp_chassis_macs,
    switch_macs,
)
from rules.book import RuleBook
from rules.context import Policy
from rules.persist import evaluate_in
from rules.view import StoreGraphView

OPER_STATUS = "interface.oper_status"
NETWORK_DEVICE = "NetworkDevice"


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What is known of a device before it is polled (from discovery or the targets
    file), enough to find its CI when it does not answer."""

    address: str
    sys_name: str = ""
    serial: str = ""
    macs: tuple[str, ...] = ()

    def identity_keys(self) -> list[str]:
        evidence: dict[str, object] = {"address": self.address, "sys_name": self.sys_name,
                                       "serial": self.serial, "macs": list(self.macs)}
        return identity_keys(NETWORK_DEVICE, evidence)


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What one ingest did. `ci_id` is None when an unanswered device is unknown."""

    address: str
    ci_id: str | None
    created: bool = False
    links: int = 0
    observations: int = 0
    incidents_changed: int = 0
    unbound_reason: str | None = None
    linked_ports: dict[str, str] = field(default_factory=dict)


class SnmpIngest:
    """Loads poll results into `store`, evaluating `rules` on their observations."""

    def __init__(
        self, store: GraphStore, rules: RuleBook, clock: Callable[[], datetime],
        policy: Callable[[], Policy] = Policy,
        max_macs_per_edge_port: int = MAX_MACS_PER_EDGE_PORT,
        evaluated: Callable[[str, float], None] = lambda source, seconds: None,
    ) -> None:
        self._store, self._rules, self._clock, self._policy = store, rules, clock, policy
        self._max_macs = max_macs_per_edge_port
        self._evaluated = evaluated

    def ingest(self, result: PollResult, device: DeviceRef | None = None) -> IngestOutcome:
        now = self._clock()
        policy = self._policy()
        return self._store.write(lambda tx: self.ingest_in(tx, result, device, policy, now))

    def ingest_in(self, tx: WriteTx, result: PollResult, device: DeviceRef | None,
                  policy: Policy, now: datetime) -> IngestOutcome:
        if result.inventory is None:
            return self._unanswered(tx, result, device, policy, now)
        [reconciled] = reconcile_in(tx, [result.inventory], now)
        ci_id = reconciled.ci_id
        links = self._links(tx, ci_id, result)
        if links:
            relate_in(tx, links, SOURCE, result.polled_at)
        observed = watched(result.observations(ci_id), previous_ports(reconciled, result))
        changed = self._evaluate(tx, ci_id, observed, policy, now)
        return IngestOutcome(result.address, ci_id, reconciled.created, len(links),
                             len(observed), changed,
                             linked_ports={link.from_id: str(link.properties["port"])
                                           for link in links})

    def _unanswered(self, tx: WriteTx, result: PollResult, device: DeviceRef | None,
                    policy: Policy, now: datetime) -> IngestOutcome:
        keys = (device or DeviceRef(result.address)).identity_keys()
        owners = tx.cis_by_keys(keys) if keys else {}
        ci_id = next((owners[key] for key in keys if key in owners), None)
        if ci_id is None:
            return IngestOutcome(result.address, None,
                                 unbound_reason="no CI known for this device")
        observed = result.observations(ci_id)
        changed = self._evaluate(tx, ci_id, observed, policy, now)
        return IngestOutcome(result.address, ci_id, observations=len(observed),
                             incidents_changed=changed)

    def _evaluate(self, tx: WriteTx, ci_id: str, observed: Sequence[Observation],
                  policy: Policy, now: datetime) -> int:
        view = StoreGraphView(self._store, tx.load_cis([ci_id]).values())
        started = time.perf_counter()
        _, changes = evaluate_in(tx, self._rules.rules, observed, view, policy, now)
        self._evaluated(SOURCE, time.perf_counter() - started)
        return len(changes.incidents)

    def _links(self, tx: WriteTx, switch_id: str, result: PollResult) -> list[Link]:
        inventory = result.inventory
        if inventory is None or inventory.ci_class != NETWORK_DEVICE or not result.relations:
            return []
        neighbours = lldp_chassis_macs(result.relations)
        candidates = edge_hosts(result.relations, switch_macs(inventory.attributes),
                                max_macs_per_edge_port=self._max_macs)
        keys = sorted({f"mac:{m}" for m in neighbours.values()}
                      | {f"mac:{h.mac}" for h in candidates})
        owners = tx.cis_by_keys(keys)
        classes = tx.ci_classes(sorted(set(owners.values())))
        network_ports = {port for port, mac in neighbours.items()
                         if classes.get(owners.get(f"mac:{mac}", "")) == NETWORK_DEVICE}
        hosts = edge_hosts(result.relations, switch_macs(inventory.attributes),
                           network_ports, self._max_macs) if network_ports else candidates
        links: dict[str, Link] = {}
        for host in hosts:
            owner = owners.get(f"mac:{host.mac}")
            if owner is None or owner == switch_id or owner in links:
                continue
            if not ci_class(classes[owner]).may_relate("CONNECTED_TO", NETWORK_DEVICE):
                continue
            properties: dict[str, str | int] = {"port": host.port}
            if host.vlan is not None:
                properties["vlan"] = host.vlan
            links[owner] = Link(owner, "CONNECTED_TO", switch_id, properties)
        return list(links.values())


def previous_ports(reconciled: Reconciliation, result: PollResult) -> Mapping[str, str] | None:
    """Port name -> oper status at the previous poll; None for a CI seen the first
    time. Taken from the ``ports`` change reconciliation recorded, if any."""
    if reconciled.created:
        return None
    change = next((c for c in reconciled.changes if c.attribute == "ports"), None)
    ports = change.old if change is not None else (
        result.inventory.attributes.get("ports") if result.inventory else None)
    if not isinstance(ports, list):
        return None
    return {str(p.get("name")): str(p.get("oper_status")) for p in ports if isinstance(p, dict)}


def watched(observations: Sequence[Observation], before: Mapping[str, str] | None
            ) -> list[Observation]:
    """`observations` without the port states that mean nothing (see the module doc):
    a port's ``interface.oper_status`` stays in while it is up or was up before."""
    kept = []
    for observation in observations:
        if observation.name == OPER_STATUS and observation.state != "up":
            port = observation.label("interface") or ""
            if before is None or before.get(port) != "up":
                continue
        kept.append(observation)
    return kept
