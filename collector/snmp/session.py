"""SNMP requests over pysnmp 7's asyncio API: GET, GETNEXT and bounded GETBULK walks.

`SnmpClient` owns the one `SnmpEngine` of the event loop it is used in; a
`SnmpSession` is one device (`Target`) talked to through it. OIDs are numeric and
replies are never resolved against MIBs (``lookupMib=False``). Every failure is
raised as a typed `collector.snmp.errors.SnmpError`; credentials are handed to
pysnmp and nowhere else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC192_SHA256,
    USM_PRIV_CFB128_AES,
    CommunityData,
    ContextData,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
)
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto.rfc1902 import Null

from collector.snmp.credentials import CommunityCredentials, Credentials
from collector.snmp.errors import SnmpAddressError, SnmpMalformedReply
from collector.snmp.oids import Oid, format_oid
from collector.snmp.replies import (
    AgentStatus,
    advance_columns,
    check_reply,
    plain_varbinds,
    pysnmp_failures,
)
from collector.snmp.snapshot import VarBind
from collector.snmp.usm_turns import UsmTurns

log = logging.getLogger(__name__)

_AUTH_PROTOCOLS = {"SHA": USM_AUTH_HMAC96_SHA, "SHA-256": USM_AUTH_HMAC192_SHA256}
_PRIV_PROTOCOLS = {"AES-128": USM_PRIV_CFB128_AES}
# The hlapi's own configurator: it adds each (credentials, transport) pair to the
# engine's LCD once, exactly as get_cmd/bulk_cmd would.
_LCD = CommandGeneratorLcdConfigurator()
_CONTEXT = ContextData()
_NULL = Null("")
Reply = tuple[Any, Any, Any, Sequence[Any]]


@dataclass(frozen=True, slots=True)
class Target:
    """One device to poll and how patiently: `timeout` seconds per attempt,
    `retries` extra attempts, `deadline` seconds for the whole poll."""

    address: str
    credentials: Credentials
    port: int = 161
    timeout: float = 2.0
    retries: int = 1
    max_repetitions: int = 25
    # Size of one GETBULK answer when several columns are walked side by side.
    bulk_varbinds: int = 48
    max_walk_objects: int = 20_000
    deadline: float = 120.0
    # Rows asked per column in the first GETBULK of a walk: small tables (a printer's
    # supplies) then end in one answer without dragging in dozens of objects past
    # their end; larger ones continue with full-size answers.
    first_rows: int = 8

    def __post_init__(self) -> None:
        if not self.address:
            raise ValueError("a target needs an address")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is out of range")
        if self.timeout <= 0 or self.retries < 0 or self.deadline <= 0:
            raise ValueError("timeout and deadline must be positive, retries not negative")
        if not all(1 <= n <= 1000 for n in (self.max_repetitions, self.bulk_varbinds,
                                            self.first_rows)):
            raise ValueError("max_repetitions, bulk_varbinds and first_rows must be "
                             "between 1 and 1000")

    @property
    def endpoint(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


class SnmpClient:
    """The event loop's SNMP engine, shared by every session made from it.

    pysnmp binds an engine's transport to the loop that first used it, so a client
    refuses to serve a second loop: make one client per loop (``async with
    SnmpClient() as client``).
    """

    def __init__(self) -> None:
        self._engine: SnmpEngine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._community_indexes: dict[str, str] = {}
        self._usm_turns = UsmTurns()

    async def __aenter__(self) -> SnmpClient:
        self.engine()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def engine(self) -> SnmpEngine:
        """The engine for the running loop, created on first use."""
        loop = asyncio.get_running_loop()
        if self._engine is None:
            self._engine, self._loop = SnmpEngine(), loop
        elif loop is not self._loop:
            raise RuntimeError("an SnmpClient serves one event loop; create one per loop")
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    async def session(self, target: Target) -> SnmpSession:
        """A session with `target`; raises `SnmpAddressError` if it does not resolve."""
        engine = self.engine()
        transport_class = Udp6TransportTarget if _is_ipv6(target.address) else UdpTransportTarget
        try:
            transport = await transport_class.create(
                (target.address, target.port), timeout=target.timeout, retries=target.retries
            )
        except (PySnmpError, OSError) as exc:
            raise SnmpAddressError(
                f"cannot resolve or open a socket ({type(exc).__name__})",
                address=target.endpoint,
            ) from None
        return SnmpSession(target, engine, transport, self._auth_data(target.credentials),
                           self._usm_turns)

    def _auth_data(self, credentials: Credentials) -> CommunityData | UsmUserData:
        if isinstance(credentials, CommunityCredentials):
            # An index of our own, so pysnmp does not name the entry after a hash of the
            # community (its default) and nothing derived from the secret is visible.
            index = self._community_indexes.setdefault(
                credentials.community, f"opsgraph-c{len(self._community_indexes) + 1}"
            )
            # v2c is insecure by design; it is here because most printers offer nothing else.
            return CommunityData(index, credentials.community, mpModel=1)  # noqa: S508
        return UsmUserData(
            credentials.user,
            authKey=credentials.auth_key,
            privKey=credentials.priv_key,
            authProtocol=_AUTH_PROTOCOLS[credentials.auth_protocol],
            privProtocol=(
                _PRIV_PROTOCOLS[credentials.priv_protocol] if credentials.priv_protocol else None
            ),
        )


class SnmpSession:
    """Requests to one device. Each method raises a typed `SnmpError` on failure.

    Requests go to pysnmp's command generators with plain numeric varbinds: the
    hlapi functions (get_cmd, bulk_cmd) would resolve every request OID against the
    MIB tree first, which costs more than encoding and sending it.
    """

    def __init__(
        self, target: Target, engine: SnmpEngine, transport: Any,
        auth: CommunityData | UsmUserData, usm_turns: UsmTurns,
    ) -> None:
        self.target = target
        self._engine = engine
        self._transport = transport
        self._auth = auth
        self._turns = usm_turns

    def __repr__(self) -> str:
        return f"SnmpSession({self.target.endpoint}, v{self.target.credentials.version})"

    def _failures(self) -> AbstractContextManager[None]:
        return pysnmp_failures(self.target.endpoint)

    async def get(self, oids: Sequence[Oid]) -> list[VarBind]:
        """GET `oids`; objects the agent does not have are left out of the answer.

        An agent that answers noSuchName/genErr for one object (v1 habits some
        printers keep in v2c) is asked again without it; tooBig splits the request.
        """
        pending = [list(oids)]
        found: list[VarBind] = []
        while pending:
            batch = pending.pop()
            if not batch:
                continue
            status = await self._request(cmdgen.GetCommandGenerator(), batch, found)
            if status is None:
                continue
            if status.name == "tooBig" and len(batch) > 1:
                pending += [batch[: len(batch) // 2], batch[len(batch) // 2 :]]
            elif status.name in {"noSuchName", "genErr"} and status.index is not None:
                log.debug("%s dropped %s after %s", self.target.endpoint,
                          format_oid(batch[status.index]), status.name)
                pending.append(batch[: status.index] + batch[status.index + 1 :])
            else:
                raise status.error(self.target.endpoint)
        return found

    async def get_next(self, oids: Sequence[Oid]) -> list[VarBind]:
        """One GETNEXT for all of `oids`: the first object after each (probing)."""
        found: list[VarBind] = []
        status = await self._request(cmdgen.NextCommandGenerator(), list(oids), found)
        if status is not None:
            raise status.error(self.target.endpoint)
        return found

    async def _request(
        self, generator: Any, oids: list[Oid], found: list[VarBind]
    ) -> AgentStatus | None:
        indication, status, index, varbinds = await self._send(generator, oids)
        agent_status = check_reply(indication, status, index, len(oids), self.target.endpoint)
        if agent_status is None:
            found.extend(plain_varbinds(varbinds))
        return agent_status

    async def _send(self, generator: Any, oids: Sequence[Oid], repetitions: int = 0) -> Reply:
        """One request and its reply: (error indication, error status, error index,
        varbinds), as pysnmp reports them."""
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Reply] = loop.create_future()

        def received(_engine: Any, _handle: Any, indication: Any, status: Any, index: Any,
                     varbinds: Any, _context: Any) -> None:
            if not reply.done():
                reply.set_result((indication, status, index, varbinds))

        request = [(oid, _NULL) for oid in oids]
        async with self._turns.turn(self.target.credentials):
            with self._failures():
                address, _ = _LCD.configure(self._engine, self._auth, self._transport,
                                            _CONTEXT.contextName)
                if isinstance(generator, cmdgen.BulkCommandGenerator):
                    generator.send_varbinds(self._engine, address, _CONTEXT.contextEngineId,
                                            _CONTEXT.contextName, 0, repetitions, request,
                                            received)
                else:
                    generator.send_varbinds(self._engine, address, _CONTEXT.contextEngineId,
                                            _CONTEXT.contextName, request, received)
                return await reply

    async def walk(self, root: Oid) -> list[VarBind]:
        """Every object under `root`, by GETBULK, never leaving the subtree."""
        return await self._walk([root], self.target.max_repetitions)

    async def walk_columns(self, columns: Sequence[Oid]) -> list[VarBind]:
        """Walk several columns side by side, one GETBULK carrying all that are not
        finished, so each answer holds whole rows. Cheaper than walking the columns one
        by one: only the last answer runs past the end of the table."""
        return await self._walk(columns, self.target.bulk_varbinds)

    async def _walk(self, columns: Sequence[Oid], per_answer: int) -> list[VarBind]:
        cursors = {column: column for column in columns}
        found: list[VarBind] = []
        first = True
        while cursors:
            active = list(cursors)
            rows = max(1, per_answer // len(active)) if len(active) > 1 else per_answer
            if first:
                rows, first = min(rows, self.target.first_rows), False
            request = [cursors[column] for column in active]
            varbinds = await self._bulk(rows, request)
            finished = advance_columns(cursors, active, varbinds, found, self.target.endpoint)
            for column in finished:
                del cursors[column]
            if len(found) > self.target.max_walk_objects:
                raise SnmpMalformedReply(
                    f"walk of {len(columns)} columns passed {self.target.max_walk_objects} "
                    "objects", address=self.target.endpoint,
                )
        return found

    async def _bulk(self, repetitions: int, oids: list[Oid]) -> Sequence[Any]:
        indication, status, index, varbinds = await self._send(
            cmdgen.BulkCommandGenerator(), oids, repetitions)
        agent_status = check_reply(indication, status, index, len(oids), self.target.endpoint)
        if agent_status is not None:
            raise agent_status.error(self.target.endpoint)
        return tuple(varbinds)


def _is_ipv6(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).version == 6
    except ValueError:
        return False
