"""`opsgraph poll | discover | traps | poller`: SNMP commands for operators.

Credentials come from flags — ``--community-env VAR`` (or ``--community C`` on a lab
bench: it shows in the process list) for v2c, ``--v3-user U --auth-key-env VAR
[--priv-key-env VAR]`` for v3 — or from a targets file (``--targets FILE``: named
entries whose secrets live in environment variables or files; ``--credentials
NAME`` picks one, else the device's own entry or its subnet's). No secret is ever
printed. Exit codes: 0 ok, 1 the device or the command failed (one line on stderr),
2 bad usage or configuration. Heavy imports (pysnmp, the stores) happen only when a
command runs. `poller` is the long-running one: it polls every target of the targets
file each interval (`collector.snmp.schedule`), optionally receives traps, and serves
`/healthz`, `/readyz` and `/metrics` on the settings' listen address.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from api.settings import ConfigError

if TYPE_CHECKING:


    from api.settings import ServerSettings
    from collector.snmp.credentials import Credentials
    from collector.snmp.ingest import DeviceRef, IngestOutcome
    from collector.snmp.model import PollResult
    from collector.snmp.targets import CredentialSpec, TargetsFile
    from collector.snmp.trap_receiver import TrapCredential, TrapOutcome

COMMANDS = ("poll", "discover", "traps", "poller")
log = logging.getLogger("opsgraph.snmp.poller")
Environ = Mapping[str, str]


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the SNMP subcommands on the `opsgraph` parser."""
    poll = commands.add_parser("poll", help="poll one device and print the result as JSON")
    poll.add_argument("host")
    _credential_flags(poll)
    poll.add_argument("--port", type=int)
    poll.add_argument("--timeout", type=float, help="seconds per attempt")
    poll.add_argument("--retries", type=int)
    poll.add_argument("--ingest", action="store_true",
                      help="also reconcile it into the CMDB and evaluate the rules")
    poll.add_argument("--rules", dest="rules_file", type=Path)
    discover = commands.add_parser("discover", help="sweep address ranges for SNMP agents")
    discover.add_argument("networks", nargs="+", metavar="CIDR")
    _credential_flags(discover)
    discover.add_argument("--port", default="161", dest="ports",
                          help="port, list or range: 161 | 161,1161 | 16100-16199")
    discover.add_argument("--concurrency", type=int, default=64)
    discover.add_argument("--timeout", type=float, default=1.0)
    discover.add_argument("--retries", type=int, default=0)
    discover.add_argument("--write-targets", type=Path,
                          help="add what answered to this targets file (created if missing)")
    discover.add_argument("--register", action="store_true",
                          help="poll what answered and reconcile it into the CMDB")
    discover.add_argument("--rules", dest="rules_file", type=Path)
    traps = commands.add_parser("traps", help="receive SNMP traps and evaluate them")
    traps.add_argument("--listen", default="127.0.0.1", help="address to bind")
    traps.add_argument("--port", type=int, required=True, help="UDP port (0: any free one)")
    _credential_flags(traps)
    traps.add_argument("--engine-id", help="v3: the sending agent's engine id (hex)")
    traps.add_argument("--rules", dest="rules_file", type=Path)
    traps.add_argument("--count", type=int, help="stop after this many traps")
    traps.add_argument("--duration", type=float, help="stop after this many seconds")
    poller = commands.add_parser(
        "poller", help="poll every target of the targets file on a schedule (long-running)")
    poller.add_argument("--targets", type=Path, required=True,
                        help="targets file (etc/snmp.example.yaml)")
    poller.add_argument("--interval", default="60s", help="time between cycle starts: 60s, 5m")
    poller.add_argument("--concurrency", type=int, default=64, help="devices in flight")
    poller.add_argument("--rules", dest="rules_file", type=Path)
    poller.add_argument("--traps-port", type=int,
                        help="also receive traps on this UDP port (credentials from the "
                             "targets file's traps.credentials)")


def _credential_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("credentials (never printed)")
    group.add_argument("--targets", type=Path, help="targets file (etc/snmp.example.yaml)")
    group.add_argument("--credentials", help="credentials entry of the targets file to use")
    group.add_argument("--community", help="v2c community (visible in `ps`: lab use only)")
    group.add_argument("--community-env", metavar="VAR", help="v2c community from $VAR")
    group.add_argument("--v3-user")
    group.add_argument("--auth-protocol", choices=("SHA", "SHA-256"), default="SHA")
    group.add_argument("--auth-key-env", metavar="VAR")
    group.add_argument("--priv-protocol", choices=("AES-128",), default="AES-128")
    group.add_argument("--priv-key-env", metavar="VAR")


def run(args: argparse.Namespace, settings: ServerSettings) -> int:
    """Run one of `COMMANDS`; raises `ConfigError` for unusable flags or files."""
    from collector.snmp.targets import TargetsFileError, load_targets

    try:
        targets = load_targets(args.targets) if args.targets else None
        if args.command == "poll":
            return _poll(args, settings, targets, os.environ)
        if args.command == "discover":
            return _discover(args, settings, targets, os.environ)
        if args.command == "poller":
            assert targets is not None  # --targets is required
            from api import cli_poller  # its web and trap stack only when asked for

            return cli_poller.poller(args, settings, targets, os.environ)
        return _traps(args, settings, targets, os.environ)
    except TargetsFileError as exc:
        raise ConfigError(str(exc)) from None


def _poll(args: argparse.Namespace, settings: ServerSettings, targets: TargetsFile | None,
          environ: Environ) -> int:
    import asyncio

    from collector.snmp.ingest import DeviceRef
    from collector.snmp.poller import SnmpPoller
    from collector.snmp.report import poll_document
    from collector.snmp.session import SnmpClient, Target
    from collector.snmp.targets import TargetDefaults

    _, credentials = chosen_credentials(args, targets, environ, args.host)
    defaults = targets.defaults if targets else TargetDefaults()
    listed = [t.port for t in (targets.targets if targets else []) if t.address == args.host]
    port = args.port or (listed[0] if listed and listed[0] else defaults.port)
    target = Target(args.host, credentials, port=port,
                    timeout=args.timeout or defaults.timeout,
                    retries=defaults.retries if args.retries is None else args.retries,
                    max_repetitions=defaults.max_repetitions,
                    bulk_varbinds=defaults.bulk_varbinds, deadline=defaults.deadline)

    async def poll_once() -> PollResult:
        async with SnmpClient() as client:
            return await SnmpPoller.over(client).poll(target)

    result = asyncio.run(poll_once())
    document = poll_document(result)
    unbound = False
    if args.ingest:
        known = targets.device_refs() if targets else {}
        device = known.get((target.address, target.port)) or DeviceRef(target.address)
        [outcome] = ingest_results(settings, [(result, device)])
        document["ingest"] = {"ci_id": outcome.ci_id, "created": outcome.created,
                              "links": outcome.links, "observations": outcome.observations,
                              "incidents_changed": outcome.incidents_changed}
        unbound = outcome.ci_id is None
    print(json.dumps(document, indent=2, default=str))
    failure = result.failure
    if failure is not None and result.inventory is None:
        print(f"opsgraph: {target.endpoint}: {failure.kind}: {failure.detail}", file=sys.stderr)
        return 1
    if unbound:
        print(f"opsgraph: {target.endpoint}: not ingested: no CI known for this device",
              file=sys.stderr)
        return 1
    return 0


def ingest_results(settings: ServerSettings, polled: list[tuple[PollResult, DeviceRef]]
                   ) -> list[IngestOutcome]:
    """Each poll result into the store the settings name, one transaction each."""
    from datetime import UTC

    from cmdb.connect import connect
    from collector.snmp.ingest import SnmpIngest
    from rules.book import RuleBook
    from rules.policy.binding import load_bound_policy

    rules = RuleBook.from_file(settings.rules_file)
    policy = load_bound_policy(settings.policy_file, settings.routing_file)
    store = connect(settings.store_url, settings.neo4j_auth(), settings.neo4j_database)
    try:
        ingest = SnmpIngest(store, rules, lambda: datetime.now(UTC), lambda: policy)
        return [ingest.ingest(result, device) for result, device in polled]
    finally:
        store.close()


def _discover(args: argparse.Namespace, settings: ServerSettings,
              targets: TargetsFile | None, environ: Environ) -> int:
    import asyncio

    from collector.snmp.discovery import SweepProgress, endpoints, parse_ports
    from collector.snmp.operations import register, sweep, targets_with
    from collector.snmp.report import progress_line, summary_table

    try:
        where = endpoints(args.networks, parse_ports(args.ports))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    name, credentials = chosen_credentials(args, targets, environ)
    on_terminal = sys.stderr.isatty()
    shown = [-1]

    def progress(state: SweepProgress) -> None:
        # A bar redrawn in place on a terminal; one line per tenth into a log file.
        tenth = 10 * state.asked // max(1, state.total)
        if on_terminal or tenth != shown[0]:
            shown[0] = tenth
            done = state.asked == state.total
            end = "\n" if done or not on_terminal else ""
            print(f"\r{progress_line(state)}", end=end, file=sys.stderr, flush=True)

    result = asyncio.run(sweep(where, [credentials], args.concurrency, args.timeout,
                               args.retries, progress))
    registered: dict[tuple[str, int], str] = {}
    refs: dict[tuple[str, int], DeviceRef] = {}
    if args.register and result.found:
        polled = register(result.found, [credentials], targets)
        outcomes = ingest_results(settings, polled)
        for device, (_, ref), outcome in zip(result.found, polled, outcomes, strict=True):
            refs[(device.address, device.port)] = ref
            registered[(device.address, device.port)] = outcome.ci_id or ""
    if args.write_targets:
        written = targets_with(args.write_targets, targets, result.found, refs, name,
                               flag_spec(args))
        print(f"{args.write_targets}: {len(result.found)} devices written, "
              f"{len(written.targets)} targets in the file", file=sys.stderr)
    sys.stdout.write(summary_table(result, registered))
    return 0


def _traps(args: argparse.Namespace, settings: ServerSettings, targets: TargetsFile | None,
           environ: Environ) -> int:
    import asyncio
    import signal
    from datetime import UTC

    from cmdb.connect import connect
    from collector.snmp.trap_receiver import (
        TrapIntake,
        TrapReceiver,
        devices_by_address,
        serve_traps,
    )
    from rules.book import RuleBook
    from rules.policy.binding import load_bound_policy

    accepted = trap_credentials(args, targets, environ)
    rules = RuleBook.from_file(settings.rules_file)
    policy = load_bound_policy(settings.policy_file, settings.routing_file)
    devices = devices_by_address(targets.device_refs() if targets else {})
    store = connect(settings.store_url, settings.neo4j_auth(), settings.neo4j_database)
    intake = TrapIntake(store, rules, lambda: datetime.now(UTC), devices, lambda: policy)
    receiver = TrapReceiver(args.listen, args.port, accepted)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        if args.duration:
            loop.call_later(args.duration, stop.set)
        seen = [0]

        def report(outcome: TrapOutcome) -> None:
            trap = outcome.trap
            print(json.dumps({"sender": trap.sender, "trap": trap.name, "ci_id": outcome.ci_id,
                              "observations": outcome.states,
                              "incidents_changed": outcome.incidents_changed,
                              "unbound": outcome.unbound_reason}), flush=True)
            seen[0] += 1
            if args.count and seen[0] >= args.count:
                stop.set()

        def ready(port: int) -> None:
            print(f"opsgraph: receiving traps on {args.listen}:{port}", file=sys.stderr,
                  flush=True)

        return await serve_traps(receiver, intake, report, stop, ready)

    try:
        asyncio.run(main())
    finally:
        store.close()
    return 0


def trap_credentials(args: argparse.Namespace, targets: TargetsFile | None,
                     environ: Environ) -> list[TrapCredential]:
    """What traps may arrive with: the flags' credentials, else the targets file's
    ``traps.credentials`` entries."""
    from collector.snmp.trap_receiver import TrapCredential

    if any(getattr(args, f) for f in ("community", "community_env", "v3_user")):
        _, credentials = chosen_credentials(args, targets, environ)
        if args.v3_user and not args.engine_id:
            raise ConfigError("--v3-user needs --engine-id: the sending agent's engine id")
        return [TrapCredential(credentials, args.engine_id)]
    if targets is None or not targets.traps.credentials:
        raise ConfigError("no trap credentials: give --community-env VAR (or --v3-user ... "
                          "--engine-id HEX), or list them under traps.credentials")
    return listed_trap_credentials(targets, environ)


def listed_trap_credentials(targets: TargetsFile, environ: Environ) -> list[TrapCredential]:
    """The targets file's ``traps.credentials`` entries, with their secrets."""
    from collector.snmp.targets import resolve_credentials
    from collector.snmp.trap_receiver import TrapCredential

    if not targets.traps.credentials:
        raise ConfigError("no trap credentials: list them under traps.credentials")
    specs = {name: targets.credentials[name] for name in targets.traps.credentials}
    resolved = resolve_credentials(specs, environ)
    accepted = []
    for name, spec in specs.items():
        if spec.version == "3" and not spec.engine_id:
            raise ConfigError(f"credentials {name!r}: a v3 trap user needs engine_id")
        accepted.append(TrapCredential(resolved[name], spec.engine_id))
    return accepted


def flag_spec(args: argparse.Namespace) -> CredentialSpec | None:
    """The credentials the flags name by environment variable, as a targets-file
    entry (discovery writes it down); None when no such flag was given."""
    from collector.snmp.targets import CredentialSpec

    if args.community_env:
        return CredentialSpec(version="2c", community_env=args.community_env)
    if args.v3_user:
        if not args.auth_key_env:
            raise ConfigError("--v3-user needs --auth-key-env VAR")
        return CredentialSpec(
            version="3", user=args.v3_user, auth_protocol=args.auth_protocol,
            auth_key_env=args.auth_key_env,
            priv_protocol=args.priv_protocol if args.priv_key_env else None,
            priv_key_env=args.priv_key_env, engine_id=getattr(args, "engine_id", None))
    return None


def chosen_credentials(args: argparse.Namespace, targets: TargetsFile | None,
                       environ: Environ, address: str | None = None
                       ) -> tuple[str | None, Credentials]:
    """(targets-file entry name or None, credentials): from the flags, else the
    targets file's `--credentials` entry, else the one for `address`."""
    from collector.snmp.credentials import CommunityCredentials
    from collector.snmp.targets import resolve_credentials

    given = [f for f in ("community", "community_env", "v3_user") if getattr(args, f)]
    if len(given) > 1:
        raise ConfigError("give only one of --community, --community-env, --v3-user")
    try:
        if args.community:
            return None, CommunityCredentials(args.community)
        spec = flag_spec(args)
        if spec is not None:
            return None, resolve_credentials({"flags": spec}, environ)["flags"]
    except ValueError as exc:
        raise ConfigError(str(exc).replace("credentials 'flags': ", "")) from None
    if targets is None:
        raise ConfigError("no credentials: give --community-env VAR, --v3-user ... "
                          "or --targets FILE")
    name = args.credentials
    if name is None and address is not None:
        own = [t.credentials for t in targets.targets if t.address == address and t.credentials]
        name = own[0] if own else targets.credentials_name(address)
    if name is None and len(targets.credentials) == 1:
        name = next(iter(targets.credentials))
    if name is None or name not in targets.credentials:
        raise ConfigError(f"no credentials {name!r} in the targets file: give --credentials")
    return name, resolve_credentials({name: targets.credentials[name]}, environ)[name]
