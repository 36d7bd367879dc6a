"""`opsgraph token create|list|revoke`: API tokens from the server's shell.

Changes are audited like the API's, with actor `cli:<login name>`."""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import UTC, datetime

from api.settings import ServerSettings
from cmdb.store import AuditRecord, GraphStore


def add_commands(token_commands: argparse._SubParsersAction[argparse.ArgumentParser]
                 ) -> None:
    token_commands.add_parser("list", help="list tokens as JSON lines (never the secrets)")
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id", help="the token's id, as `token list` shows it")


def run(settings: ServerSettings, args: argparse.Namespace) -> int:
    from cmdb.connect import connect

    store = connect(settings.store_url, settings.neo4j_auth(), settings.neo4j_database)
    try:
        command: str = args.token_command
        if command == "create":
            return _create(store, args.role, args.name, args.agent_id)
        if command == "list":
            return _list(store)
        return _revoke(store, args.id)
    finally:
        store.close()


def _audit(store: GraphStore, action: str, target: str, **detail: object) -> None:
    entry = AuditRecord(datetime.now(UTC), f"cli:{getpass.getuser()}", "cli", action,
                        target, detail)
    store.write(lambda tx: tx.add_audit([entry]))


def _create(store: GraphStore, role: str, name: str, agent_id: str | None) -> int:
    from api.auth import hash_token, issue_token

    token = issue_token(store, role, name, datetime.now(UTC), agent_id)  # type: ignore[arg-type]
    _audit(store, "token.create", hash_token(token)[:16], name=name, role=role,
           agent_id=agent_id)
    print(token)
    return 0


def _list(store: GraphStore) -> int:
    from api.auth import token_id

    for token in store.tokens():
        print(json.dumps({"id": token_id(token), "name": token.name, "role": token.role,
                          "agent_id": token.agent_id,
                          "created_at": token.created_at.isoformat()}))
    return 0


def _revoke(store: GraphStore, public_id: str) -> int:
    from api.auth import find_token

    token = find_token(store, public_id)
    if token is None or not store.revoke_token(token.token_hash):
        raise LookupError(f"no token with id {public_id!r}")
    _audit(store, "token.revoke", public_id, name=token.name, role=token.role)
    print(f"revoked {public_id} ({token.role} {token.name!r})")
    return 0
