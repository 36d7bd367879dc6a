"""`opsgraph-agent run|once|status|inventory`.

Exit codes: 0 success; 1 a report was not delivered or another runtime failure;
2 bad configuration or usage; 3 the spool cannot be used; 130 interrupted.
Every failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from agent.errors import AgentError, ConfigError, SpoolError

if TYPE_CHECKING:
    from agent.exporter import MetricsExporter
    from agent.health import AgentHealth
    from agent.runner import AgentLoop
    from agent.settings import AgentSettings
    from agent.shipper import Shipper
    from agent.spool import Spool
    from agent.transport import HttpTransport

log = logging.getLogger("agent")
PROG = "opsgraph-agent"
PRIME_SECONDS = 1.0  # `once` reads twice this far apart so CPU, disk and network have rates
ONCE_MAX_FAILURES = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + error
        self.exit(2, f"{PROG}: {message} (see --help)\n")


def _add_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--config", type=Path, default=default, help="YAML settings file")
    parser.add_argument("--server", default=default, help="collector base URL (https://host)")
    parser.add_argument("--token", default=default,
                        help="agent token (prefer OPSGRAPH_AGENT_TOKEN or token_file)")
    parser.add_argument("--agent-id", default=default, help="agent id (default: host name)")
    parser.add_argument("--spool", default=default, help="spool database path")
    parser.add_argument("--interval", default=default, help="collection interval (15, 30s, 1m)")
    parser.add_argument("--log-level", default=default, help="DEBUG, INFO, WARNING or ERROR")


def build_parser() -> argparse.ArgumentParser:
    """Options are accepted before or after the command (`once --server URL`)."""
    parser = _Parser(prog=PROG, description="opsgraph endpoint agent")
    _add_options(parser, None)
    after = _Parser(add_help=False)
    _add_options(after, argparse.SUPPRESS)  # only overrides what was actually given
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", parents=[after],
                        help="collect and send every interval until stopped")
    commands.add_parser("once", parents=[after],
                        help="collect one report, spool it and try to send it")
    status = commands.add_parser("status", parents=[after], help="spool depth and last send")
    status.add_argument("--json", action="store_true", help="print JSON")
    commands.add_parser("inventory", parents=[after], help="print this host's inventory as JSON")
    return parser


def _settings(args: argparse.Namespace) -> AgentSettings:
    from agent.settings import load_settings

    overrides = {
        "server_url": args.server, "token": args.token, "agent_id": args.agent_id,
        "spool_path": args.spool, "interval_seconds": args.interval,
        "log_level": args.log_level,
    }
    return load_settings(args.config, overrides=overrides)


@dataclass
class _Agent:
    loop: AgentLoop
    spool: Spool
    shipper: Shipper
    transport: HttpTransport

    def close(self) -> None:
        self.transport.close()
        self.spool.close()


def _build_agent(settings: AgentSettings, health: AgentHealth | None = None) -> _Agent:
    from agent.backoff import Backoff
    from agent.clock import SystemClock
    from agent.inventory import InventoryReader
    from agent.probes.collector import HostCollector, default_probes
    from agent.probes.psutil_source import PsutilSource
    from agent.report import agent_version
    from agent.runner import AgentLoop, LoopTiming
    from agent.shipper import Shipper
    from agent.spool import Spool
    from agent.transport import HttpTransport

    settings.require_sending()
    if not settings.verify_tls:
        log.warning("TLS certificate verification is OFF: anyone on the path can read reports")
    clock = SystemClock()
    source = PsutilSource(settings.root_path)
    transport = HttpTransport(
        settings.reports_url, settings.timeout_seconds, settings.ca_file, settings.verify_tls
    )
    spool = Spool(settings.spool_path, clock, settings.spool_max_bytes,
                  settings.spool_max_age_seconds)
    backoff = Backoff(settings.backoff_initial_seconds, settings.backoff_max_seconds)
    shipper = Shipper(spool, transport, settings.token, clock, backoff,
                      user_agent=f"{PROG}/{agent_version()}",
                      batch_max_reports=settings.batch_max_reports,
                      batch_max_bytes=settings.batch_max_bytes)
    timing = LoopTiming(settings.interval_seconds, settings.inventory_check_seconds,
                        settings.inventory_refresh_seconds)
    loop = AgentLoop(
        settings.agent_id,
        HostCollector(default_probes(source, clock, settings.root_path)),
        InventoryReader(source, settings.root_path),
        spool, shipper, clock, timing, health,
    )
    return _Agent(loop, spool, shipper, transport)


def cmd_inventory(settings: AgentSettings, args: argparse.Namespace) -> int:
    from agent.inventory import InventoryReader
    from agent.probes.psutil_source import PsutilSource

    reader = InventoryReader(PsutilSource(settings.root_path), settings.root_path)
    print(json.dumps(reader.read(), indent=2))
    return 0


def cmd_status(settings: AgentSettings, args: argparse.Namespace) -> int:
    from agent.clock import SystemClock
    from agent.spool import Spool
    from agent.timestamps import rfc3339_utc

    spool = Spool(settings.spool_path, SystemClock(), read_only=True)
    try:
        status = spool.status()
    finally:
        spool.close()
    if args.json:
        print(json.dumps({"spool_path": str(settings.spool_path), **asdict(status)}, indent=2))
        return 0
    last = rfc3339_utc(status.last_success_at) if status.last_success_at else "never"
    print(f"spool: {settings.spool_path}")
    print(f"pending reports: {status.depth} ({status.size_bytes} bytes, "
          f"{status.inventory_reports} with inventory)")
    print(f"last successful send: {last}")
    print(f"delivered: {status.delivered_reports}  send failures: {status.send_failures}  "
          f"dropped: {status.dropped_reports}  dead letters: {status.dead_letters}")
    if status.last_error and status.depth:
        print(f"last error: {status.last_error}")
    return 0


def cmd_once(settings: AgentSettings, args: argparse.Namespace) -> int:
    agent = _build_agent(settings)
    try:
        agent.loop.prime()
        time.sleep(PRIME_SECONDS)
        cycle = agent.loop.cycle()
        result = agent.shipper.flush(max_failures=ONCE_MAX_FAILURES)
        depth = agent.spool.status().depth
    finally:
        agent.close()
    if set(cycle.report_ids) <= set(result.delivered):
        print(f"delivered {len(result.delivered)} report(s); {depth} left in the spool")
        return 0
    if set(cycle.report_ids) & set(result.dead_lettered):
        print(f"{PROG}: the collector refused the report; it is in the dead letters",
              file=sys.stderr)
        return 1
    print(f"{PROG}: report not delivered after {result.failures} attempt(s); "
          f"{depth} report(s) kept in the spool", file=sys.stderr)
    return 1


def cmd_run(settings: AgentSettings, args: argparse.Namespace) -> int:
    from agent.health import AgentHealth
    from agent.report import agent_version

    health = AgentHealth()
    agent = _build_agent(settings, health)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    exporter = _start_exporter(settings, health)
    log.info("%s %s started: agent_id=%s server=%s interval=%ss spool=%s",
             PROG, agent_version(), settings.agent_id, settings.server_url,
             settings.interval_seconds, settings.spool_path)
    try:
        agent.loop.run(stop)
    finally:
        if exporter is not None:
            exporter.stop()
        agent.close()
    return 0


def _start_exporter(settings: AgentSettings, health: AgentHealth) -> MetricsExporter | None:
    from agent.exporter import AgentCollector, MetricsExporter
    from agent.report import agent_version

    listen = settings.metrics_listen
    if listen is None:
        return None
    exporter = MetricsExporter(listen, AgentCollector(health, settings.agent_id, agent_version()))
    try:
        exporter.start()
    except OSError as exc:
        raise ConfigError("metrics_listen", f"cannot listen on {listen.host}:{listen.port}: "
                          f"{exc.strerror or exc}") from exc
    return exporter


COMMANDS: dict[str, Callable[[AgentSettings, argparse.Namespace], int]] = {
    "run": cmd_run, "once": cmd_once, "status": cmd_status, "inventory": cmd_inventory,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `opsgraph-agent` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
        logging.basicConfig(
            level=settings.log_level, stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        return COMMANDS[args.command](settings, args)
    except ConfigError as exc:
        return _fail(2, f"configuration error: {exc}")
    except SpoolError as exc:
        return _fail(3, str(exc))
    except AgentError as exc:
        return _fail(1, str(exc))
    except OSError as exc:
        return _fail(1, f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        return _fail(130, "interrupted")
    except Exception as exc:  # a bug: still one line (the traceback only with DEBUG logging)
        log.debug("unexpected error", exc_info=True)
        return _fail(1, f"internal error: {type(exc).__name__}: {exc}")


def _fail(code: int, message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
