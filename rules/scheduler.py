"""Time-driven evaluation at the edge: every few seconds, one `tick` in one write
transaction (absence deadlines, hold-down ends, SLA checkpoints, reminders).

Several server processes may tick the same store: each due incident or timer is read
locked inside the transaction, so two ticks serialise instead of deciding twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from cmdb.errors import StoreUnavailable, UniquenessConflict
from cmdb.store import GraphStore
from rules.book import RuleBook
from rules.context import Decision, Policy
from rules.persist import tick_in
from rules.view import StoreGraphView

log = logging.getLogger("opsgraph.scheduler")


def tick_once(store: GraphStore, rules: RuleBook, policy: Policy, now: datetime
              ) -> list[Decision]:
    decisions, _ = store.write(lambda tx: tick_in(tx, rules.rules, StoreGraphView(store),
                                                  policy, now))
    return decisions


async def run_periodic(work: Callable[[], object], every_seconds: float, what: str) -> None:
    """Run blocking `work` in a thread every `every_seconds` until cancelled."""
    while True:
        try:
            await asyncio.to_thread(work)
        except (StoreUnavailable, UniquenessConflict) as exc:
            log.warning("%s skipped: %s", what, exc)
        await asyncio.sleep(every_seconds)


async def run_ticks(store: GraphStore, rules: RuleBook, policy: Policy,
                    clock: Callable[[], datetime], every_seconds: float,
                    on_tick: Callable[[list[Decision]], None] | None = None) -> None:
    """Tick until cancelled; a store outage is logged and retried at the next tick."""
    while True:
        try:
            decisions = await asyncio.to_thread(tick_once, store, rules, policy, clock())
            if on_tick is not None:
                on_tick(decisions)
        except (StoreUnavailable, UniquenessConflict) as exc:
            log.warning("tick skipped: %s", exc)
        await asyncio.sleep(every_seconds)
