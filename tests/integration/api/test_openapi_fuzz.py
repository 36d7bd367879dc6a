"""schemathesis against `/openapi.json`, authenticated as admin (who may call every
operation): generated input — valid and invalid — never gets a 5xx nor an answer
that violates the documented schema. Bounded to a few examples per operation so the
suite stays quick; the app runs on uvicorn in a thread, on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.auth import issue_token
from api.settings import ServerSettings
from cmdb.connect import connect
from rules.book import RuleBook
from rules.loader import parse_rules
from tests.conftest import Clock, require_service
from tests.integration.api.conftest import ALERT_RULES, ROUTED
from tests.integration.api.served import served

EXAMPLES = 12


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "opsgraph.db"
    store = connect(f"sqlite:///{path}")
    clock = Clock()
    app = create_app(ServerSettings(store_url=store.url), store=store,
                     rules=RuleBook(None, parse_rules(ALERT_RULES)), clock=clock,
                     policy=ROUTED, ticking=False)
    admin = issue_token(store, "admin", "fuzzer", clock())
    # A real server: in-process ASGI transports re-raise what the app already answered.
    with served(app) as url:
        yield url, admin
    store.close()


@pytest.fixture(scope="module")
def schemathesis_module() -> Any:
    try:
        import schemathesis
    except ImportError as exc:  # CI fails here, a laptop skips
        require_service("schemathesis", ".venv/bin/pip install schemathesis", exc)
        raise
    return schemathesis


@pytest.fixture(scope="module")
def api_schema(schemathesis_module: Any, fuzzed: tuple[str, str]) -> Any:
    return schemathesis_module.openapi.from_url(f"{fuzzed[0]}/openapi.json")


def operations() -> list[tuple[str, str]]:
    """Every documented operation, read from an app that is built but never started."""
    app = create_app(ServerSettings(), rules=RuleBook(None, []), policy=ROUTED, ticking=False)
    return [(method.upper(), path) for path, item in sorted(app.openapi()["paths"].items())
            for method in sorted(item)]


@pytest.mark.parametrize(("method", "path"), operations())
def test_generated_requests_get_no_5xx_and_documented_answers(
        method: str, path: str, api_schema: Any, fuzzed: tuple[str, str],
        schemathesis_module: Any) -> None:
    from hypothesis import HealthCheck, given, settings  # comes with schemathesis

    checks = schemathesis_module.checks
    operation = api_schema[path][method]
    auth = {"Authorization": f"Bearer {fuzzed[1]}"}

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: Any) -> None:
        case.call_and_validate(headers=auth,
                               checks=[checks.not_a_server_error,
                                       checks.response_schema_conformance])

    fuzz()
