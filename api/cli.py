"""`opsgraph`: the server and operator commands.

Exit codes: 0 ok, 1 the command failed (a reason on stderr), 2 bad usage or config.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from api import cli_snmp, cli_tokens
from api.settings import ConfigError, ServerSettings, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opsgraph", description=__doc__)
    parser.add_argument("--config", type=Path, help="YAML settings file")
    parser.add_argument("--store", dest="store_url", help="store URL (overrides settings)")
    commands = parser.add_subparsers(dest="command", required=True)
    dispatch = commands.add_parser(
        "dispatch", help="deliver the outbox to the receivers (receivers_file) only")
    dispatch.add_argument("--port", dest="listen_port", type=int)
    serve = commands.add_parser("serve", help="run the API and intake server")
    serve.add_argument("--host", dest="listen_host")
    serve.add_argument("--port", dest="listen_port", type=int)
    serve.add_argument("--rules", dest="rules_file", type=Path)
    token = commands.add_parser("token", help="manage API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token and print it once")
    create.add_argument("--role", required=True,
                        choices=("agent", "integration", "operator", "admin"))
    create.add_argument("--name", required=True)
    create.add_argument("--agent-id", help="the agent id an agent token may report for")
    cli_tokens.add_commands(token_commands)
    rules = commands.add_parser("rules", help="rules files")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_commands.add_parser(
        "check", help="validate a rules file (and a routing and a policy file)")
    check.add_argument("file", type=Path)
    check.add_argument("--routing", type=Path, help="routing tree YAML")
    check.add_argument("--policy", type=Path, help="priority/SLA/maintenance YAML")
    cmdb = commands.add_parser("cmdb", help="service model import and export")
    cmdb_commands = cmdb.add_subparsers(dest="cmdb_command", required=True)
    load = cmdb_commands.add_parser("import", help="validate and apply a YAML or CSV model")
    load.add_argument("file", type=Path)
    dump = cmdb_commands.add_parser("export", help="write the model as YAML")
    dump.add_argument("file", type=Path, nargs="?")
    impact = commands.add_parser("impact", help="what breaks if a CI fails")
    impact.add_argument("name", help="CI name or id")
    impact.add_argument("--depth", type=int, default=6, choices=range(1, 11),
                        metavar="1-10")
    cis = commands.add_parser("cis", help="list CIs as JSON lines")
    cis.add_argument("--class", dest="ci_class")
    cis.add_argument("--name")
    cli_snmp.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "rules":
            return _rules_check(args.file, args.routing, args.policy)
        settings = load_settings(
            args.config,
            store_url=args.store_url,
            listen_host=getattr(args, "listen_host", None),
            listen_port=getattr(args, "listen_port", None),
            rules_file=getattr(args, "rules_file", None),
        )
        logging.basicConfig(level=settings.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
        if args.command == "serve":
            return _serve(settings)
        if args.command == "dispatch":
            return _serve(settings, dispatch_only=True)
        if args.command == "token":
            return cli_tokens.run(settings, args)
        if args.command in ("cmdb", "impact"):
            return _with_store(settings, args)
        if args.command in cli_snmp.COMMANDS:
            return cli_snmp.run(args, settings)
        return _list_cis(settings, args.ci_class, args.name)
    except ConfigError as exc:
        print(f"opsgraph: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the CLI promises a one-line reason, never a traceback
        from cmdb.errors import CMDBError
        from rules.errors import RulesError

        if isinstance(exc, CMDBError | RulesError | ValueError | OSError | LookupError):
            print(f"opsgraph: {exc}", file=sys.stderr)
            return 1
        raise


def _rules_check(path: Path, routing: Path | None, policy: Path | None) -> int:
    from rules.errors import RuleConfigError
    from rules.loader import load_rules_file
    from rules.policy.binding import load_bound_policy

    try:
        rules = load_rules_file(path)
        load_bound_policy(policy, routing)
    except RuleConfigError as exc:
        print(f"opsgraph: {exc}", file=sys.stderr)
        return 1
    checked = ", ".join(str(p) for p in (routing, policy) if p)
    print(f"{path}: {len(rules)} rules ok" + (f"; {checked} ok" if checked else ""))
    return 0


def _serve(settings: ServerSettings, dispatch_only: bool = False) -> int:
    """`serve` (API, intake, ticks, and the dispatcher unless `dispatch: false`) or
    `dispatch` (only the outbox dispatcher, with health endpoints)."""
    import uvicorn

    from api.app import create_app, utc_now
    from api.dispatching import create_dispatch_app
    from api.settings import load_receivers
    from rules.errors import RulesError

    try:
        receivers = load_receivers(settings)
        app = (create_dispatch_app(settings, receivers, utc_now) if dispatch_only
               else create_app(settings, receivers=receivers))
    except RulesError as exc:  # rules, routing, policy or receivers file
        print(f"opsgraph: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=settings.listen_host, port=settings.listen_port,
                log_level=settings.log_level, access_log=False)
    return 0


def _with_store(settings: ServerSettings, args: argparse.Namespace) -> int:
    from api import cli_cmdb
    from cmdb.connect import connect

    store = connect(settings.store_url, settings.neo4j_auth(), settings.neo4j_database)
    try:
        if args.command == "impact":
            return cli_cmdb.print_impact(store, args.name, args.depth)
        if args.cmdb_command == "import":
            return cli_cmdb.import_model(store, args.file)
        return cli_cmdb.export(store, args.file)
    finally:
        store.close()


def _list_cis(settings: ServerSettings, ci_class: str | None, name: str | None) -> int:
    from cmdb.connect import connect
    from cmdb.store import CIQuery

    store = connect(settings.store_url, settings.neo4j_auth(), settings.neo4j_database)
    try:
        cursor: str | None = None
        while True:
            page = store.list_cis(CIQuery(ci_class=ci_class, name_contains=name, cursor=cursor))
            for ci in page.items:
                print(json.dumps({"id": ci.id, "class": ci.ci_class, "name": ci.name,
                                  "status": ci.status, "last_seen": ci.last_seen.isoformat()}))
            if page.next_cursor is None:
                return 0
            cursor = page.next_cursor
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
