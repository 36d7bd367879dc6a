"""The FastAPI app factory: `create_app(settings)` wires store, rules and routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI

from api import problems
from api.routers import cis, health, incidents, reconciliation, reports
from api.settings import ServerSettings
from api.telemetry import Telemetry
from cmdb.connect import connect
from cmdb.freshness import age_out
from cmdb.store import GraphStore
from collector.intake import ReportIntake
from rules.book import RuleBook
from rules.context import Policy
from rules.policy.binding import load_bound_policy
from rules.scheduler import run_periodic, run_ticks


def opsgraph_version() -> str:
    try:
        return version("opsgraph")
    except PackageNotFoundError:
        return "0+unknown"


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: ServerSettings, store: GraphStore | None = None,
               rules: RuleBook | None = None, clock: Callable[[], datetime] = utc_now,
               policy: Policy | None = None, ticking: bool = True) -> FastAPI:
    """The opsgraph server. The store is opened on start-up unless one is given; the
    rules, routing and policy files are read now, so a bad file fails before serving.
    `ticking` runs the time-driven evaluation (hold-down ends, absence, SLA) in the
    background every `tick_seconds`."""
    book = rules if rules is not None else RuleBook.from_file(settings.rules_file)
    bound = policy if policy is not None else load_bound_policy(settings.policy_file,
                                                                settings.routing_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        app.state.store = store or connect(settings.store_url, settings.neo4j_auth(),
                                           settings.neo4j_database)
        app.state.intake = ReportIntake(app.state.store, book, clock, bound)
        tasks = [
            asyncio.create_task(run_ticks(app.state.store, book, bound, clock,
                                          settings.tick_seconds)),
            asyncio.create_task(run_periodic(
                lambda: age_out(app.state.store, clock(), settings.stale_after,
                                settings.retire_after),
                settings.age_out_seconds, "age-out")),
        ] if ticking else []
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if owned:
                app.state.store.close()

    app = FastAPI(title="opsgraph", version=opsgraph_version(), lifespan=lifespan,
                  description="Monitoring-integrated CMDB and auto-incident system.")
    app.state.settings = settings
    app.state.rules = book
    app.state.policy = bound
    app.state.telemetry = Telemetry(opsgraph_version())
    problems.install(app)
    for module in (reports, cis, reconciliation, incidents, health):
        app.include_router(module.router)
    return app
