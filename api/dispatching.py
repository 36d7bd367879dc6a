"""The outbox dispatcher as a background task of a process (`serve` or `dispatch`).

Delivery is correct with any number of these running on one store (entries are
claimed with a lease), so `serve` runs one by default and a separate `opsgraph
dispatch` Deployment can take over (`dispatch: false` on the servers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI

from api.settings import ServerSettings
from rules.notify.config import build_receivers
from rules.notify.dispatcher import Dispatcher
from rules.notify.settings import ReceiverSettings
from rules.notify.state import open_delivery_store

log = logging.getLogger("opsgraph.dispatch")


@asynccontextmanager
async def dispatching(settings: ServerSettings, receivers: Mapping[str, ReceiverSettings],
                      clock: Callable[[], datetime]) -> AsyncIterator[Dispatcher]:
    """Run a dispatcher for the life of the context; yields it so writers can `wake()`
    it (call that on this event loop) after they queue notifications."""
    state = await asyncio.to_thread(open_delivery_store, settings.store_url,
                                    settings.neo4j_auth(), settings.neo4j_database)
    built = build_receivers(receivers, clock)
    dispatcher = Dispatcher(state, built, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    log.info("dispatching to %s", ", ".join(sorted(built)) or "no receivers")
    try:
        yield dispatcher
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for receiver in built.values():
            await receiver.aclose()
        await asyncio.to_thread(state.close)


def create_dispatch_app(settings: ServerSettings, receivers: Mapping[str, ReceiverSettings],
                        clock: Callable[[], datetime]) -> FastAPI:
    """`opsgraph dispatch`: only the dispatcher, with `/healthz`, `/readyz` and
    `/metrics` on the listen port for probes and scrapes."""
    from api import problems
    from api.routers import health
    from api.telemetry import Telemetry
    from cmdb.connect import connect

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = connect(settings.store_url, settings.neo4j_auth(),
                                  settings.neo4j_database)
        try:
            async with dispatching(settings, receivers, clock):
                yield
        finally:
            app.state.store.close()

    app = FastAPI(title="opsgraph dispatcher", lifespan=lifespan)
    app.state.settings = settings
    app.state.telemetry = Telemetry("dispatcher")
    problems.install(app)
    app.include_router(health.router)
    return app
