"""Polls devices: system group, probe, classify, run the kind's plan, assemble.

get -> transform: the I/O is here (`DeviceReader` calls); everything after the reads
is pure (`classify`, `assemble`). A device that does not answer comes back as a
`PollResult` whose reachability says so, never as an empty success.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from collector.snmp import oids
from collector.snmp.assemble import assemble
from collector.snmp.classify import PROBES, classify
from collector.snmp.decode.system import decode_system
from collector.snmp.errors import (
    Reachability,
    SnmpAuthError,
    SnmpError,
    SnmpTimeout,
    SnmpUnreachable,
)
from collector.snmp.model import PollResult
from collector.snmp.oids import Oid
from collector.snmp.plan import PLANS, Columns, Get, Section, Step, sections_of
from collector.snmp.session import SnmpClient, Target
from collector.snmp.snapshot import Snapshot, VarBind

log = logging.getLogger(__name__)


class DeviceReader(Protocol):
    """The requests the poller makes (`SnmpSession` is the real one)."""

    async def get(self, oids: Sequence[Oid]) -> list[VarBind]: ...

    async def get_next(self, oids: Sequence[Oid]) -> list[VarBind]: ...

    async def walk(self, root: Oid) -> list[VarBind]: ...

    async def walk_columns(self, columns: Sequence[Oid]) -> list[VarBind]: ...


ReaderFactory = Callable[[Target], Awaitable[DeviceReader]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    snapshot: Snapshot
    failures: tuple[SnmpError, ...]
    failed_sections: frozenset[Section]


class SnmpPoller:
    """Polls targets with at most `max_concurrency` devices in flight at once."""

    def __init__(
        self,
        open_reader: ReaderFactory,
        *,
        max_concurrency: int = 32,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._open_reader = open_reader
        self._slots = asyncio.Semaphore(max_concurrency)
        self._clock = clock

    @classmethod
    def over(
        cls, client: SnmpClient, *, max_concurrency: int = 32,
        clock: Callable[[], datetime] = utc_now,
    ) -> SnmpPoller:
        """A poller whose requests go through `client`'s engine."""
        return cls(client.session, max_concurrency=max_concurrency, clock=clock)

    async def poll_many(self, targets: Iterable[Target]) -> list[PollResult]:
        """Every target's result, in the order given."""
        return list(await asyncio.gather(*(self.poll(target) for target in targets)))

    async def poll(self, target: Target) -> PollResult:
        async with self._slots:
            polled_at = self._clock()
            try:
                async with asyncio.timeout(target.deadline):
                    result = await self._poll(target, polled_at)
            except SnmpError as exc:
                result = _failed(target, polled_at, exc)
            except TimeoutError:
                late = SnmpTimeout(f"poll passed its {target.deadline:g}s deadline",
                                   address=target.endpoint)
                result = _failed(target, polled_at, late)
        log.debug("polled %s: %s", target.endpoint, result.reachability.value)
        return result

    async def _poll(self, target: Target, polled_at: datetime) -> PollResult:
        reader = await self._open_reader(target)
        snapshot = Snapshot(await reader.get(oids.SYSTEM_GROUP))
        system = decode_system(snapshot)
        snapshot = snapshot.merged(await reader.get_next(PROBES))
        classification = classify(system, snapshot)
        outcome = await run_plan(reader, PLANS[classification.kind], snapshot, target.endpoint)
        facts = assemble(
            target.address, classification, system, outcome.snapshot,
            failed_sections=outcome.failed_sections, seen_at=polled_at,
        )
        failures = outcome.failures + facts.failures
        return PollResult(
            address=target.address,
            polled_at=polled_at,
            reachability=Reachability.DEGRADED if failures else Reachability.REACHABLE,
            inventory=facts.inventory,
            samples=facts.samples,
            relations=facts.relations,
            failures=failures,
        )


async def run_plan(
    reader: DeviceReader, plan: Sequence[Step], start: Snapshot, endpoint: str
) -> PlanOutcome:
    """Run `plan` in order. A failed step marks its section failed; once the device
    stops answering (timeout) or refuses us (auth), the rest is not attempted."""
    snapshot = start
    failures: list[SnmpError] = []
    failed: set[Section] = set()
    gave_up = False
    for step in plan:
        if gave_up:
            failed.update(sections_of(step))
            continue
        try:
            varbinds = await _run_step(reader, step, snapshot)
        except (SnmpUnreachable, SnmpAuthError) as exc:
            failures.append(exc)
            failed.update(sections_of(step))
            gave_up = True
            continue
        except SnmpError as exc:
            failures.append(exc if exc.address else exc.at(endpoint))
            failed.update(sections_of(step))
            continue
        if varbinds:
            snapshot = snapshot.merged(varbinds)
    return PlanOutcome(snapshot, tuple(failures), frozenset(failed))


async def _run_step(reader: DeviceReader, step: Step, snapshot: Snapshot) -> list[VarBind]:
    if isinstance(step, Get):
        wanted = step.select(snapshot)
        return await reader.get(wanted) if wanted else []
    if step.skip is not None and step.skip(snapshot):
        return []
    if isinstance(step, Columns):
        return await reader.walk_columns(step.columns)
    return await reader.walk(step.root)


def _failed(target: Target, polled_at: datetime, exc: SnmpError) -> PollResult:
    failure = exc if exc.address else exc.at(target.endpoint)
    return PollResult(
        address=target.address,
        polled_at=polled_at,
        reachability=failure.reachability,
        failures=(failure,),
    )
