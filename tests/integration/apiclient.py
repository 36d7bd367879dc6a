"""An opsgraph app on a given store, with one token per role, for API tests."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import issue_token
from api.settings import ServerSettings
from cmdb.store import GraphStore
from rules.book import RuleBook
from rules.context import Policy
from rules.loader import parse_rules
from tests.conftest import Clock

DATA = Path(__file__).resolve().parent.parent / "data"

DISK_RULE = """
rules:
  - name: filesystem-full
    metric: host.filesystem.used
    when: "> 90"
    clear: "< 85"
    severity: major
    summary: "{ci}: filesystem {label.mountpoint} is {value}% full"
    failure_mode: [mountpoint]
"""


def sample_report(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((DATA / "reports" / "pc-0042.json").read_text())
    report = copy.deepcopy(report)
    report.update(changes)
    return report


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@contextmanager
def running_api(store: GraphStore, clock: Clock, rules: str = DISK_RULE,
                max_body_bytes: int = 1_000_000, policy: Policy | None = None
                ) -> Iterator[Api]:
    settings = ServerSettings(store_url=store.url, max_body_bytes=max_body_bytes)
    app = create_app(settings, store=store, rules=RuleBook(None, parse_rules(rules)),
                     clock=clock, ticking=False, policy=policy)
    tokens = {
        role: issue_token(store, role, f"test {role}", clock(),  # type: ignore[arg-type]
                          "pc-0042" if role == "agent" else None)
        for role in ("agent", "integration", "operator", "admin")
    }
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, tokens)
