"""`opsgraph token create|list|revoke` as an administrator runs it on the server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from api.auth import hash_token
from cmdb.connect import connect
from cmdb.store import AuditQuery

ROOT = Path(__file__).resolve().parents[3]


def opsgraph(store: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", "--store", store, "token", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)


def test_tokens_are_created_listed_without_secrets_revoked_and_audited(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'cli.db'}"
    created = opsgraph(store_url, "create", "--role", "integration", "--name", "alertmanager")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()

    listed = opsgraph(store_url, "list")
    [token] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (token["name"], token["role"], token["id"]) == (
        "alertmanager", "integration", hash_token(secret)[:16])
    assert secret not in listed.stdout

    assert opsgraph(store_url, "revoke", token["id"]).returncode == 0
    again = opsgraph(store_url, "revoke", token["id"])
    assert again.returncode == 1
    assert again.stderr == f"opsgraph: no token with id '{token['id']}'\n"
    store = connect(store_url)
    try:
        assert store.token(hash_token(secret)) is None
        trail = store.audit(AuditQuery()).items
    finally:
        store.close()
    assert [(e.action, e.target, e.role) for e in trail] == [
        ("token.revoke", token["id"], "cli"), ("token.create", token["id"], "cli")]
    assert all(e.actor.startswith("cli:") for e in trail)
