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
from contextlib import AbstractContextManager, aclosing
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC192_SHA256,
    USM_PRIV_CFB128_AES,
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    bulk_walk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.varbinds import CommandGeneratorVarBinds

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
VARBINDS = CommandGeneratorVarBinds()


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

    def __post_init__(self) -> None:
        if not self.address:
            raise ValueError("a target needs an address")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is out of range")
        if self.timeout <= 0 or self.retries < 0 or self.deadline <= 0:
            raise ValueError("timeout and deadline must be positive, retries not negative")
        if not 1 <= self.max_repetitions <= 1000 or not 1 <= self.bulk_varbinds <= 1000:
            raise ValueError("max_repetitions and bulk_varbinds must be between 1 and 1000")

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
        self._requests = RequestObjects()

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
                           self._usm_turns, self._requests)

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
    """Requests to one device. Each method raises a typed `SnmpError` on failure."""

    def __init__(
        self, target: Target, engine: SnmpEngine, transport: Any,
        auth: CommunityData | UsmUserData, usm_turns: UsmTurns,
        requests: RequestObjects | None = None,
    ) -> None:
        self.target = target
        self._engine = engine
        self._transport = transport
        self._auth = auth
        self._turns = usm_turns
        self._objects = requests or RequestObjects()

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
            status = await self._request(get_cmd, batch, found)
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
        status = await self._request(next_cmd, list(oids), found)
        if status is not None:
            raise status.error(self.target.endpoint)
        return found

    async def _request(
        self, command: Any, oids: list[Oid], found: list[VarBind]
    ) -> AgentStatus | None:
        async with self._turns.turn(self.target.credentials):
            with self._failures():
                reply = await command(
                    self._engine, self._auth, self._transport, ContextData(),
                    *self._objects.resolved(self._engine, oids), lookupMib=False,
                )
        indication, status, index, varbinds = reply
        agent_status = check_reply(indication, status, index, len(oids), self.target.endpoint)
        if agent_status is None:
            found.extend(plain_varbinds(varbinds))
        return agent_status

    async def walk(self, root: Oid) -> list[VarBind]:
        """Every object under `root`, by GETBULK, never leaving the subtree."""
        found: list[VarBind] = []
        async with self._turns.turn(self.target.credentials):
            with self._failures():
                await self._walk_into(root, found)
        return [(oid, value) for oid, value in found if oid[: len(root)] == root]

    async def _walk_into(self, root: Oid, found: list[VarBind]) -> None:
        limit = self.target.max_walk_objects
        replies = bulk_walk_cmd(
            self._engine, self._auth, self._transport, ContextData(),
            0, self.target.max_repetitions, self._objects.resolved(self._engine, [root])[0],
            lookupMib=False, lexicographicMode=False,
        )
        async with aclosing(replies):
            async for indication, status, index, varbinds in replies:
                # bulk_walk_cmd keeps retrying after a timeout: stop at the first error.
                agent_status = check_reply(indication, status, index, 1, self.target.endpoint)
                if agent_status is not None:
                    raise agent_status.error(self.target.endpoint)
                found.extend(plain_varbinds(varbinds))
                if len(found) > limit:
                    raise SnmpMalformedReply(f"walk of {format_oid(root)} passed {limit} objects",
                                             address=self.target.endpoint)

    async def walk_columns(self, columns: Sequence[Oid]) -> list[VarBind]:
        """Walk several columns side by side, one GETBULK carrying all that are not
        finished, so each answer holds whole rows. Cheaper than walking the columns one
        by one: only the last answer runs past the end of the table."""
        cursors = {column: column for column in columns}
        found: list[VarBind] = []
        while cursors:
            active = list(cursors)
            repetitions = max(1, self.target.bulk_varbinds // len(active))
            request = [cursors[column] for column in active]
            # Only the column roots are worth remembering; later cursors never repeat.
            varbinds = await self._bulk(repetitions, request, remember=not found)
            finished = advance_columns(cursors, active, varbinds, found, self.target.endpoint)
            for column in finished:
                del cursors[column]
            if len(found) > self.target.max_walk_objects:
                raise SnmpMalformedReply(
                    f"walk of {len(columns)} columns passed {self.target.max_walk_objects} "
                    "objects", address=self.target.endpoint,
                )
        return found

    async def _bulk(self, repetitions: int, oids: list[Oid], remember: bool) -> Sequence[Any]:
        async with self._turns.turn(self.target.credentials):
            with self._failures():
                request = (
                    self._objects.resolved(self._engine, oids) if remember
                    else [ObjectType(ObjectIdentity(format_oid(oid))) for oid in oids]
                )
                indication, status, index, varbinds = await bulk_cmd(
                    self._engine, self._auth, self._transport, ContextData(), 0, repetitions,
                    *request, lookupMib=False,
                )
        agent_status = check_reply(indication, status, index, len(oids), self.target.endpoint)
        if agent_status is not None:
            raise agent_status.error(self.target.endpoint)
        return tuple(varbinds)


def _is_ipv6(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).version == 6
    except ValueError:
        return False


class RequestObjects:
    """Request varbinds for fixed OIDs (system group, probes, chassis columns), built
    and MIB-resolved once per engine: pysnmp resolves every request varbind against
    its MIB tree, which costs more than encoding it."""

    _LIMIT = 4096

    def __init__(self) -> None:
        self._cache: dict[Oid, Any] = {}

    def resolved(self, engine: SnmpEngine, oids: Sequence[Oid]) -> list[Any]:
        if len(self._cache) > self._LIMIT:
            self._cache.clear()
        missing = [oid for oid in oids if oid not in self._cache]
        if missing:
            made = VARBINDS.make_varbinds(
                engine.cache, tuple(ObjectType(ObjectIdentity(format_oid(oid))) for oid in missing)
            )
            self._cache.update(zip(missing, made, strict=True))
        return [self._cache[oid] for oid in oids]
