"""Discovery: sweep addresses (and ports) for SNMP agents and classify what answers.

Each endpoint costs two requests: a GET of the system group and one GETNEXT probe of
the MIBs that tell device kinds apart (`collector.snmp.classify`). Credentials are
tried in the order given until one is answered; an endpoint that answers none is
counted by the failure kind of its last try (a timeout is by far the commonest:
nothing listens there, or it refused the community silently).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from collector.snmp import oids
from collector.snmp.classify import PROBES, DeviceKind, classify
from collector.snmp.credentials import Credentials
from collector.snmp.decode.system import decode_system
from collector.snmp.errors import SnmpError
from collector.snmp.oids import format_oid
from collector.snmp.poller import DeviceReader
from collector.snmp.session import Target
from collector.snmp.snapshot import Snapshot

MAX_ENDPOINTS = 65_536
Endpoint = tuple[str, int]


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """An agent that answered, and what it is."""

    address: str
    port: int
    credentials_index: int
    kind: DeviceKind
    reason: str
    sys_name: str
    sys_descr: str
    sys_object_id: str


@dataclass
class SweepProgress:
    total: int
    asked: int = 0
    answered: int = 0


@dataclass
class SweepResult:
    found: list[FoundDevice] = field(default_factory=list)
    asked: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    def kinds(self) -> Counter[str]:
        return Counter(device.kind.value for device in self.found)


def parse_ports(text: str) -> list[int]:
    """``161``, ``161,1161`` or ``16100-16199`` (and mixes) as a sorted port list."""
    ports: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        first, last = int(low), int(high or low)
        if not 0 < first <= last < 65536:
            raise ValueError(f"bad port range {part.strip()!r}")
        ports.update(range(first, last + 1))
    return sorted(ports)


def endpoints(networks: Sequence[str], ports: Sequence[int]) -> list[Endpoint]:
    """Every host address of `networks` (CIDR or single addresses) on every port."""
    hosts: list[str] = []
    for text in networks:
        network = ipaddress.ip_network(text, strict=False)
        if network.num_addresses * max(1, len(ports)) > MAX_ENDPOINTS:
            raise ValueError(f"{text} x {len(ports)} ports is more than {MAX_ENDPOINTS} "
                             "endpoints; sweep smaller ranges")
        addresses = network.hosts() if network.num_addresses > 2 else iter(network)
        hosts += [str(address) for address in addresses]
    found = [(host, port) for host in dict.fromkeys(hosts) for port in ports]
    if len(found) > MAX_ENDPOINTS:
        raise ValueError(f"more than {MAX_ENDPOINTS} endpoints; sweep smaller ranges")
    return found


ReaderFactory = Callable[[Target], Awaitable[DeviceReader]]


class Sweeper:
    """Asks at most `concurrency` endpoints at a time."""

    def __init__(self, open_reader: ReaderFactory, credentials: Sequence[Credentials], *,
                 concurrency: int = 64, timeout: float = 1.0, retries: int = 0) -> None:
        if not credentials:
            raise ValueError("discovery needs at least one set of credentials")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._open_reader = open_reader
        self._credentials = list(credentials)
        self._concurrency = concurrency
        self._timeout, self._retries = timeout, retries

    async def sweep(self, where: Iterable[Endpoint],
                    progress: Callable[[SweepProgress], None] = lambda p: None) -> SweepResult:
        """Every endpoint asked once; devices in the order the endpoints were given."""
        todo = list(where)
        state = SweepProgress(total=len(todo))
        result = SweepResult()
        answers: dict[int, FoundDevice] = {}
        queue: Iterator[tuple[int, Endpoint]] = iter(enumerate(todo))

        async def worker() -> None:
            for position, (address, port) in queue:
                found, failure = await self._ask(address, port)
                state.asked += 1
                if found is not None:
                    answers[position] = found
                    state.answered += 1
                elif failure is not None:
                    result.failures[failure] += 1
                progress(state)

        await asyncio.gather(*(worker() for _ in range(min(self._concurrency, len(todo)))))
        result.found = [answers[i] for i in sorted(answers)]
        result.asked = state.asked
        return result

    async def _ask(self, address: str, port: int) -> tuple[FoundDevice | None, str | None]:
        failure: str | None = None
        for index, credentials in enumerate(self._credentials):
            target = Target(address, credentials, port=port, timeout=self._timeout,
                            retries=self._retries, deadline=self._timeout * 4 * (
                                self._retries + 1))
            try:
                async with asyncio.timeout(target.deadline):
                    return await self._identify(target, index), None
            except SnmpError as exc:
                failure = exc.kind
            except TimeoutError:
                failure = "timeout"
        return None, failure

    async def _identify(self, target: Target, index: int) -> FoundDevice:
        reader = await self._open_reader(target)
        snapshot = Snapshot(await reader.get(oids.SYSTEM_GROUP))
        system = decode_system(snapshot)
        classification = classify(system, snapshot.merged(await reader.get_next(PROBES)))
        return FoundDevice(
            address=target.address, port=target.port, credentials_index=index,
            kind=classification.kind, reason=classification.reason, sys_name=system.name,
            sys_descr=system.descr,
            sys_object_id=format_oid(system.object_id) if system.object_id else "",
        )
