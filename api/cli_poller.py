"""`opsgraph poller`: scheduled SNMP polling (and traps) in one event loop, with
`/healthz`, `/readyz` and `/metrics` for the poller Deployment's probes and scrapes."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from api.settings import ConfigError

if TYPE_CHECKING:
    import asyncio

    from fastapi import FastAPI

    from api.settings import ServerSettings
    from cmdb.store import GraphStore
    from collector.snmp.schedule import PollerMetrics
    from collector.snmp.targets import TargetsFile
    from collector.snmp.trap_receiver import TrapOutcome

from api.cli_snmp import Environ, listed_trap_credentials, log


def poller(args: argparse.Namespace, settings: ServerSettings, targets: TargetsFile,
            environ: Environ) -> int:
    import asyncio
    import signal

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        await run_poller(args, settings, targets, environ, stop)

    asyncio.run(main())
    return 0


async def run_poller(args: argparse.Namespace, settings: ServerSettings, targets: TargetsFile,
                     environ: Environ, stop: asyncio.Event,
                     clock: Callable[[], datetime] | None = None) -> None:
    """`opsgraph poller` until `stop` is set: the schedule, the trap receiver when
    ``--traps-port`` is given, and the health server, all on this event loop."""
    from datetime import UTC
    from datetime import datetime as dt

    from cmdb.connect import connect
    from collector.snmp.ingest import SnmpIngest
    from collector.snmp.schedule import (
        PollerMetrics,
        PollSchedule,
        parse_interval,
        scheduled_devices,
    )
    from collector.snmp.trap_receiver import (
        TrapIntake,
        TrapReceiver,
        devices_by_address,
        serve_traps,
    )
    from rules.book import RuleBook
    from rules.policy.binding import load_bound_policy

    try:
        interval = parse_interval(args.interval)
    except ValueError as exc:
        raise ConfigError(f"--interval: {exc}") from None
    if args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    now = clock or (lambda: dt.now(UTC))
    devices = scheduled_devices(targets, environ)
    accepted = listed_trap_credentials(targets, environ) if args.traps_port is not None else []
    rules = RuleBook.from_file(settings.rules_file)
    policy = load_bound_policy(settings.policy_file, settings.routing_file)
    store = connect(settings.store_url, settings.neo4j_auth(), settings.neo4j_database)
    try:
        metrics = PollerMetrics()
        ingest = SnmpIngest(store, rules, now, lambda: policy)
        schedule = PollSchedule(devices, ingest.ingest, interval=interval,
                                concurrency=args.concurrency, metrics=metrics, clock=now)
        work: list[Coroutine[Any, Any, Any]] = [schedule.run(stop)]
        if args.traps_port is not None:
            intake = TrapIntake(store, rules, now, devices_by_address(targets.device_refs()),
                                lambda: policy)
            receiver = TrapReceiver(settings.listen_host, args.traps_port, accepted)
            work.append(serve_traps(receiver, intake, _logged_trap, stop, lambda port: log.info(
                "receiving traps on %s:%d", settings.listen_host, port)))
        log.info("polling %d targets every %gs, %d at a time", len(devices), interval,
                 args.concurrency)
        await _serve_alongside(poller_app(store, metrics), settings, work, stop)
    finally:
        store.close()


def _logged_trap(outcome: TrapOutcome) -> None:
    log.info("trap %s from %s: ci %s, %d incident changes%s", outcome.trap.name,
             outcome.trap.sender, outcome.ci_id, outcome.incidents_changed,
             f" (unbound: {outcome.unbound_reason})" if outcome.unbound_reason else "")


def poller_app(store: GraphStore, metrics: PollerMetrics) -> FastAPI:
    """`/healthz`, `/readyz` (the store answers) and `/metrics` (the poller's registry)."""
    from fastapi import FastAPI

    from api import problems
    from api.routers import health

    app = FastAPI(title="opsgraph poller")
    app.state.store = store
    # The health router's /metrics reads only `.registry` of the app's telemetry.
    app.state.telemetry = metrics
    problems.install(app)
    app.include_router(health.router)
    return app


async def _serve_alongside(app: FastAPI, settings: ServerSettings,
                           work: list[Coroutine[Any, Any, Any]], stop: asyncio.Event) -> None:
    """Serve `app` with uvicorn while `work` runs; when the work ends (stop, or an
    error) the server stops too, and the work's error is raised."""
    import asyncio
    import contextlib
    from collections.abc import Iterator

    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # The poller's loop owns SIGINT/SIGTERM: they set `stop`, which ends both.
            yield

    server = Server(uvicorn.Config(app, host=settings.listen_host, port=settings.listen_port,
                                   log_level=settings.log_level, access_log=False,
                                   lifespan="off"))
    served = asyncio.create_task(server.serve())
    working = asyncio.ensure_future(asyncio.gather(*work))
    try:
        await asyncio.wait({served, working}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()
        server.should_exit = True
        try:
            await working
        finally:
            await served

