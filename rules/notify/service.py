"""One dispatcher process's lifetime: open the delivery state in the CMDB store, build
the receivers from their settings, deliver until told to stop, close everything.
This is what an `opsgraph dispatch` command (or the server, as a background task)
runs."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from rules.notify.config import build_receivers
from rules.notify.dispatcher import Dispatcher, RetryPolicy
from rules.notify.receiver import Clock, utc_now
from rules.notify.settings import ReceiverSettings
from rules.notify.state import open_delivery_store


async def run_dispatcher(store_url: str, receivers: Mapping[str, ReceiverSettings],
                         stop: asyncio.Event, *, auth: tuple[str, str] | None = None,
                         database: str | None = None, policy: RetryPolicy | None = None,
                         clock: Clock = utc_now, poll_interval: float = 0.5) -> None:
    """Deliver the outbox of `store_url` to `receivers` until `stop` is set."""
    state = await asyncio.to_thread(open_delivery_store, store_url, auth, database)
    built = build_receivers(receivers, clock)
    try:
        await Dispatcher(state, built, policy=policy, clock=clock,
                         poll_interval=poll_interval).run(stop)
    finally:
        for receiver in built.values():
            await receiver.aclose()
        await asyncio.to_thread(state.close)
