"""Outbox entries for tests, shaped like the rules engine's payloads
(`rules.stages.notify.payload`) and written through the real store, plus a runner
for the dispatcher."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from cmdb.store import GraphStore, OutboxEntry
from rules.notify.dispatcher import Dispatcher

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """An incident as a test describes it."""

    id: str
    fingerprint: str
    ci_id: str
    ci_name: str
    severity: str
    summary: str
    opened_at: datetime
    state: str = "new"
    resolved_at: datetime | None = None
    urgency: int = 2
    priority: int = 3
    assignment_group: str | None = None


def incident(n: int, ci_name: str | None = None, severity: str = "major",
             opened_at: datetime = T0) -> Case:
    name = ci_name or f"host-{n % 5:02d}"
    return Case(id=str(uuid.UUID(int=n + 1)), fingerprint=f"filesystem-full|ci-{name}|/var/{n}",
                ci_id=f"ci-{name}", ci_name=name, severity=severity,
                summary=f"{name}: filesystem /var/{n} is 93% full", opened_at=opened_at)


def resolved(item: Case, at: datetime | None = None) -> Case:
    return replace(item, state="resolved",
                   resolved_at=at or item.opened_at + timedelta(minutes=10))


def payload(item: Case, event: str) -> dict[str, object]:
    return {
        "event": event,
        "incident": {
            "id": item.id, "fingerprint": item.fingerprint, "rule": "filesystem-full",
            "ci_id": item.ci_id, "state": item.state, "severity": item.severity,
            "urgency": item.urgency, "priority": item.priority,
            "priority_reasons": ["impact 2 (medium) x urgency 2 (medium) = priority 3"],
            "summary": item.summary, "description": "",
            "opened_at": item.opened_at.isoformat(),
            "resolved_at": item.resolved_at.isoformat() if item.resolved_at else None,
            "occurrences": 1, "value": 93.0,
            "labels": {"team": "infrastructure"}, "assignment_group": item.assignment_group,
            "flapping": False, "children": 0,
        },
        "ci": {"id": item.ci_id, "name": item.ci_name, "class": "Server"},
    }


def entry(item: Case, event: str, receiver: str) -> OutboxEntry:
    at = item.resolved_at or item.opened_at
    return OutboxEntry(str(uuid.uuid4()), item.id, receiver, event, at, payload(item, event))


def enqueue(store: GraphStore, entries: Sequence[OutboxEntry]) -> None:
    store.write(lambda tx: tx.enqueue(list(entries)))


@asynccontextmanager
async def running(dispatcher: Dispatcher) -> AsyncIterator[asyncio.Task[None]]:
    """The dispatcher's `run` in a task, stopped gracefully on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield task
    finally:
        stop.set()
        if not task.done():
            await asyncio.wait_for(task, 30)


async def until(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait (really) until `predicate()` holds; fail naming `what` after `seconds`.
    The predicate runs in a worker thread (it may query a store) every 0.1 s."""
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.1)
