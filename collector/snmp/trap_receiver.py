"""The trap receiver: pysnmp's asyncio notification receiver on a UDP port, and the
intake that binds each trap to its device's CI and evaluates it with the rules.

get (`TrapReceiver`: v2c communities, v3 USM users, v1 traps converted to v2) ->
transform (`collector.snmp.traps`, pure) -> load (`TrapIntake.accept`: one write
transaction per trap).

Binding: a trap names its device only by the address it came from (or
``snmpTrapAddress.0``). The targets file knows which device lives at that address
and how it was identified when discovered (sysName, serial, MACs): those identity
keys name the CI. A trap from an address the targets file does not list, or that
several targets share (one host, several ports), is not bound and is reported as
such; it never creates a CI.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto.api import v2c

from cmdb.store import GraphStore, WriteTx
from collector.snmp.credentials import CommunityCredentials, Credentials
from collector.snmp.errors import SnmpError
from collector.snmp.ingest import DeviceRef
from collector.snmp.replies import plain_varbinds
from collector.snmp.traps import Trap, decode_trap, port_names, trap_observations
from rules.book import RuleBook
from rules.context import Policy
from rules.persist import evaluate_in
from rules.view import StoreGraphView

log = logging.getLogger(__name__)

_AUTH = {"SHA": config.USM_AUTH_HMAC96_SHA, "SHA-256": config.USM_AUTH_HMAC192_SHA256}
_PRIV = {"AES-128": config.USM_PRIV_CFB128_AES}


@dataclass(frozen=True, slots=True)
class TrapCredential:
    """Credentials traps may arrive with; a v3 user needs the sender's engine id."""

    credentials: Credentials
    engine_id: str | None = None


@dataclass(frozen=True, slots=True)
class TrapOutcome:
    trap: Trap
    ci_id: str | None
    observations: int = 0
    incidents_changed: int = 0
    unbound_reason: str | None = None
    states: dict[str, str] = field(default_factory=dict)


class TrapIntake:
    """Binds traps to CIs through `devices` (address -> the targets polled there)."""

    def __init__(self, store: GraphStore, rules: RuleBook, clock: Callable[[], datetime],
                 devices: Mapping[str, list[DeviceRef]], policy: Callable[[], Policy] = Policy
                 ) -> None:
        self._store, self._rules, self._clock, self._policy = store, rules, clock, policy
        self._devices = devices

    def accept(self, trap: Trap) -> TrapOutcome:
        refs = self._devices.get(trap.sender, [])
        if len(refs) != 1:
            reason = ("no target at this address" if not refs else
                      f"{len(refs)} targets share this address")
            return TrapOutcome(trap, None, unbound_reason=reason)
        now = self._clock()
        policy = self._policy()
        return self._store.write(lambda tx: self._accept_in(tx, trap, refs[0], policy, now))

    def _accept_in(self, tx: WriteTx, trap: Trap, device: DeviceRef, policy: Policy,
                   now: datetime) -> TrapOutcome:
        keys = device.identity_keys()
        owners = tx.cis_by_keys(keys)
        ci_id = next((owners[key] for key in keys if key in owners), None)
        if ci_id is None:
            return TrapOutcome(trap, None, unbound_reason="the device has no CI yet (poll it)")
        cis = tx.load_cis([ci_id])
        names = port_names(cis[ci_id].attributes) if ci_id in cis else {}
        observed = trap_observations(trap, ci_id, now, names)
        view = StoreGraphView(self._store, cis.values())
        _, changes = evaluate_in(tx, self._rules.rules, observed, view, policy, now)
        states = {o.name: o.state or "" for o in observed}
        return TrapOutcome(trap, ci_id, len(observed), len(changes.incidents), states=states)


def devices_by_address(refs: Mapping[tuple[str, int], DeviceRef]) -> dict[str, list[DeviceRef]]:
    found: dict[str, list[DeviceRef]] = {}
    for (address, _port), ref in refs.items():
        found.setdefault(address, []).append(ref)
    return found


class TrapReceiver:
    """Listens on `host:port` (UDP; port 0 picks a free one) and hands each decoded
    trap to the `deliver` function given to `start`.

    Use inside a running loop: ``receiver.start(deliver)``, later ``receiver.close()``.
    Only the listed credentials are accepted; anything else pysnmp drops (and counts
    in snmpInBadCommunityNames / usmStats*), never reaching `deliver`.
    """

    def __init__(self, host: str, port: int, credentials: list[TrapCredential]) -> None:
        if not credentials:
            raise ValueError("the trap receiver needs at least one community or v3 user")
        self._address = (host, port)
        self._credentials = credentials
        self._deliver: Callable[[Trap], None] = lambda trap: None
        self._engine: SnmpEngine | None = None
        self._transport: Any = None

    @property
    def port(self) -> int:
        return self._address[1]

    def start(self, deliver: Callable[[Trap], None]) -> None:
        """Bind the port (raises `OSError` if it is taken) and start receiving."""
        self._deliver = deliver
        engine = SnmpEngine()
        family = socket.AF_INET6 if ":" in self._address[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind(self._address)
        except OSError:
            sock.close()
            raise
        self._address = (self._address[0], sock.getsockname()[1])
        self._transport = udp.UdpTransport().open_server_mode(sock=sock)
        config.add_transport(engine, udp.DOMAIN_NAME, self._transport)
        for number, entry in enumerate(self._credentials, start=1):
            _configure(engine, number, entry)
        ntfrcv.NotificationReceiver(engine, self._received)
        self._engine = engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    def _received(self, engine: SnmpEngine, state_reference: Any, context_engine_id: Any,
                  context_name: Any, varbinds: Any, context: Any) -> None:
        execution = engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        source = str(execution["transportAddress"][0])
        try:
            trap = decode_trap(source, plain_varbinds(varbinds))
        except SnmpError as exc:  # one bad trap must not stop the receiver
            log.warning("undecodable notification from %s: %s", source, exc.detail)
            return
        self._deliver(trap)


def _configure(engine: SnmpEngine, number: int, entry: TrapCredential) -> None:
    credentials = entry.credentials
    if isinstance(credentials, CommunityCredentials):
        # Our own index, so nothing derived from the community is visible.
        config.add_v1_system(engine, f"opsgraph-trap-c{number}", credentials.community)
        return
    engine_id = entry.engine_id
    if engine_id is None:
        raise ValueError(f"v3 trap user {credentials.user!r} needs the sender's engine_id")
    config.add_v3_user(
        engine, credentials.user,
        _AUTH[credentials.auth_protocol], credentials.auth_key,
        _PRIV[credentials.priv_protocol] if credentials.priv_protocol else config.USM_PRIV_NONE,
        credentials.priv_key,
        securityEngineId=v2c.OctetString(hexValue=engine_id.removeprefix("0x")),
    )


async def serve_traps(receiver: TrapReceiver, intake: TrapIntake,
                      report: Callable[[TrapOutcome], None], stop: asyncio.Event,
                      ready: Callable[[int], None] = lambda port: None) -> int:
    """Receive until `stop` is set; each trap is ingested in a worker thread (store
    writes block), one at a time and in arrival order. Returns how many came."""
    queue: asyncio.Queue[Trap] = asyncio.Queue(maxsize=10_000)

    def deliver(trap: Trap) -> None:
        try:
            queue.put_nowait(trap)
        except asyncio.QueueFull:
            log.warning("trap queue full: dropped %s from %s", trap.name, trap.sender)

    receiver.start(deliver)
    ready(receiver.port)
    count = 0
    try:
        while not stop.is_set():
            waiter = asyncio.ensure_future(queue.get())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if waiter not in done:
                waiter.cancel()
                break
            trap = waiter.result()
            started = time.perf_counter()
            outcome = await asyncio.to_thread(intake.accept, trap)
            log.debug("trap %s from %s in %.3fs", trap.name, trap.sender,
                      time.perf_counter() - started)
            count += 1
            report(outcome)
    finally:
        receiver.close()
    return count
