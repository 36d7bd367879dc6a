"""What the operator commands do between parsing flags and printing: sweep, poll
what answered, write the targets file. Each runs its own event loop and engine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from collector.snmp.credentials import Credentials
from collector.snmp.discovery import Endpoint, FoundDevice, Sweeper, SweepProgress, SweepResult
from collector.snmp.ingest import DeviceRef
from collector.snmp.model import PollResult
from collector.snmp.poller import SnmpPoller
from collector.snmp.session import SnmpClient, Target
from collector.snmp.targets import (
    CredentialSpec,
    TargetDefaults,
    TargetEntry,
    TargetsFile,
    load_targets,
    save_targets,
)


async def sweep(where: Sequence[Endpoint], credentials: Sequence[Credentials],
                concurrency: int, attempt_timeout: float, retries: int,
                progress: Callable[[SweepProgress], None]) -> SweepResult:
    async with SnmpClient() as client:
        sweeper = Sweeper(client.session, credentials, concurrency=concurrency,
                          timeout=attempt_timeout, retries=retries)
        return await sweeper.sweep(where, progress)


async def poll_found(found: Sequence[FoundDevice], credentials: Sequence[Credentials],
                     defaults: TargetDefaults, concurrency: int = 32) -> list[PollResult]:
    """A full poll of every device discovery found, with the credentials it answered."""
    targets = [
        Target(d.address, credentials[d.credentials_index], port=d.port,
               timeout=defaults.timeout, retries=defaults.retries,
               max_repetitions=defaults.max_repetitions, bulk_varbinds=defaults.bulk_varbinds,
               deadline=defaults.deadline)
        for d in found
    ]
    async with SnmpClient() as client:
        return await SnmpPoller.over(client, max_concurrency=concurrency).poll_many(targets)


def register(found: Sequence[FoundDevice], credentials: Sequence[Credentials],
             targets: TargetsFile | None) -> list[tuple[PollResult, DeviceRef]]:
    """Poll what discovery found; each result with the `DeviceRef` its identity gives
    (sysName, serial, MACs), for ingest and for the targets file."""
    defaults = targets.defaults if targets else TargetDefaults()
    results = asyncio.run(poll_found(found, credentials, defaults))
    return [(result, device_ref(result, device)) for result, device in
            zip(results, found, strict=True)]


def device_ref(result: PollResult, found: FoundDevice) -> DeviceRef:
    identity = result.inventory.identity if result.inventory else {}
    serial = identity.get("serial")
    macs = identity.get("macs")
    return DeviceRef(
        found.address, found.sys_name,
        serial if isinstance(serial, str) else "",
        tuple(m for m in macs if isinstance(m, str)) if isinstance(macs, list) else (),
    )


def targets_with(path: Path, given: TargetsFile | None, found: Sequence[FoundDevice],
                 refs: dict[Endpoint, DeviceRef], credentials_name: str | None,
                 spec: CredentialSpec | None) -> TargetsFile:
    """Add `found` to the targets file at `path` (the `given` one, or the file there,
    or a new one) and write it. Credentials named by environment variable on the
    command line are written as an entry (`spec`); a community typed on the command
    line is not, and the targets then need a subnet entry to be polled."""
    base = given if given is not None else (
        load_targets(path) if path.exists() else TargetsFile())
    name = credentials_name
    if name is None and spec is not None:
        name = "discovered-v3" if spec.version == "3" else "discovered-v2c"
        base = base.model_copy(update={"credentials": {**base.credentials, name: spec}})
    entries = []
    for device in found:
        ref = refs.get((device.address, device.port))
        entries.append(TargetEntry(
            address=device.address,
            port=None if device.port == base.defaults.port else device.port,
            credentials=name, kind=device.kind.value, sys_name=device.sys_name,
            serial=ref.serial if ref else "", macs=ref.macs if ref else (),
        ))
    updated = base.with_targets(entries)
    save_targets(updated, path)
    return updated
