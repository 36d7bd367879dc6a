"""The FastAPI app factory: `create_app(settings)` wires store, rules and routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI

from api import problems
from api.audit import AuditTrail
from api.auth import TokenCache
from api.dispatching import dispatching
from api.estate_metrics import EstateCollector
from api.overload import INTAKE_PATHS, IntakeGuard
from api.routers import (
    alertmanager,
    audit,
    cis,
    events,
    health,
    incident_actions,
    incidents,
    kpis,
    notifications,
    reconciliation,
    reports,
    tokens,
)
from api.routers import rules as rules_router
from api.routers import sync as sync_router
from api.settings import ServerSettings
from api.telemetry import Telemetry, timed_store
from cmdb.connect import connect
from cmdb.freshness import age_out
from cmdb.store import GraphStore
from collector.events import EventIntake
from collector.intake import ReportIntake
from rules.actions import IncidentActions
from rules.book import RuleBook
from rules.context import Policy
from rules.notify.settings import ReceiverSettings
from rules.notify.state import open_delivery_store
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
               policy: Policy | None = None, ticking: bool = True,
               receivers: Mapping[str, ReceiverSettings] | None = None) -> FastAPI:
    """The opsgraph server. The store is opened on start-up unless one is given; the
    rules, routing and policy files are read now, so a bad file fails before serving.
    `ticking` runs the time-driven evaluation (hold-down ends, absence, SLA) in the
    background every `tick_seconds`; with `receivers` (and `settings.dispatch`) the
    outbox is delivered to them from this process too."""
    book = rules if rules is not None else RuleBook.from_file(settings.rules_file)
    bound = policy if policy is not None else load_bound_policy(settings.policy_file,
                                                                settings.routing_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        app.state.store = timed_store(store or connect(
            settings.store_url, settings.neo4j_auth(), settings.neo4j_database), telemetry)
        app.state.intake = ReportIntake(app.state.store, book, clock, bound)
        app.state.actions = IncidentActions(app.state.store, book, clock,
                                            lambda: app.state.policy)
        app.state.events = EventIntake(app.state.store, book, clock, lambda: app.state.policy,
                                       telemetry.evaluated)
        tasks = [
            asyncio.create_task(run_ticks(
                app.state.store, book, bound, clock, settings.tick_seconds,
                lambda decisions: app.state.outbox_written() if any(
                    d.kind == "notify" for d in decisions) else None)),
            asyncio.create_task(run_periodic(
                lambda: age_out(app.state.store, clock(), settings.stale_after,
                                settings.retire_after),
                settings.age_out_seconds, "age-out")),
        ] if ticking else []
        try:
            async with contextlib.AsyncExitStack() as stack:
                if receivers and settings.dispatch:
                    dispatcher = await stack.enter_async_context(
                        dispatching(settings, receivers, clock))
                    app.state.outbox_written = dispatcher.wake
                yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            estate.close()
            if getattr(app.state, "deliveries", None) is not None:
                app.state.deliveries.close()
            if owned:
                app.state.store.close()

    app = FastAPI(title="opsgraph", version=opsgraph_version(), lifespan=lifespan,
                  description="Monitoring-integrated CMDB and auto-incident system.")
    app.state.settings = settings
    app.state.rules = book
    app.state.clock = clock
    app.state.policy = bound
    app.state.receivers = dict(receivers or {})
    app.state.tokens = TokenCache()
    # Called (on the event loop) after writes that queued notifications; the
    # in-process dispatcher, when there is one, replaces it with its `wake`.
    app.state.outbox_written = lambda: None
    app.state.telemetry = telemetry = Telemetry(opsgraph_version())
    estate = EstateCollector(lambda: app.state.store, settings.estate_metrics_seconds,
                             lambda: open_delivery_store(settings.store_url, settings.neo4j_auth(),
                                                         settings.neo4j_database))
    telemetry.registry.register(estate)
    problems.install(app)
    for module in (reports, alertmanager, events, cis, reconciliation, incidents,
                   incident_actions, notifications, sync_router, rules_router, tokens, audit,
                   kpis, health):
        app.include_router(module.router)
    app.add_middleware(AuditTrail, store=lambda: app.state.store, clock=clock,
                       skip=(*INTAKE_PATHS, "/v1/rules/validate"))
    app.add_middleware(IntakeGuard, telemetry=telemetry, limit=settings.intake_max_in_flight,
                       retry_after=settings.intake_retry_after_seconds)
    return app
