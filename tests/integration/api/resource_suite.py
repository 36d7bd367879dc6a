"""The generic API suite every resource plugs into (NetBox's `APITestCase` habit): a
resource is a class naming its path, the role that may read it, the request that
writes it and the role that may, and how to seed items for paging.

Checked for each: no token is 401, every other role 403 (both problem+json, both
before any validation — a denied caller learns nothing about the request), the
allowed roles get through, and the list pages by `next_cursor` without losing or
repeating items, on every store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cmdb.connect import connect
from cmdb.store import GraphStore
from tests.conftest import Clock
from tests.integration.api.conftest import OpsApi, start_api

ROLES = ("agent", "integration", "operator", "admin")
PROBLEM = "application/problem+json"


def allowed(role: str | None) -> set[str]:
    return set() if role is None else {role, "admin"}


@pytest.fixture(scope="module")
def auth_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpsApi]:
    """One SQLite-backed app per module for the permission checks, which do not
    depend on the store (paging runs on every store)."""
    path: Path = tmp_path_factory.mktemp("auth") / "opsgraph.db"
    store = connect(f"sqlite:///{path}")
    try:
        yield from start_api(store, Clock())
    finally:
        store.close()


class ResourceSuite:
    path: ClassVar[str]
    read_role: ClassVar[str | None] = "operator"
    write: ClassVar[tuple[str, str, Any] | None] = None  # method, path, JSON body
    write_role: ClassVar[str | None] = None

    def test_no_token_is_401(self, auth_api: OpsApi) -> None:
        requests = [("GET", self.path, None)] if self.read_role else []
        for method, path, body in [*requests, *([self.write] if self.write else [])]:
            answer = auth_api.client.request(method, path, json=body)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["content-type"] == PROBLEM
            assert answer.headers["www-authenticate"] == "Bearer"

    def test_other_roles_are_403(self, auth_api: OpsApi) -> None:
        checks: list[tuple[tuple[str, str, Any], str | None]] = (
            [(("GET", self.path, None), self.read_role)] if self.read_role else [])
        if self.write is not None:
            checks.append((self.write, self.write_role))
        for (method, path, body), role in checks:
            for denied in sorted(set(ROLES) - allowed(role)):
                answer = auth_api.client.request(method, path, json=body,
                                                 headers=auth_api.auth(denied))
                assert answer.status_code == 403, (method, path, denied, answer.text)
                assert answer.headers["content-type"] == PROBLEM
                assert denied in answer.json()["detail"]

    def test_allowed_roles_get_through(self, auth_api: OpsApi) -> None:
        for role in sorted(allowed(self.read_role)):
            answer = auth_api.client.get(self.path, headers=auth_api.auth(role))
            assert answer.status_code == 200, (role, answer.text)



class ListSuite(ResourceSuite):
    """A resource that is a cursor-paginated list (`limit`, `cursor`, `next_cursor`)."""

    seeded: ClassVar[int] = 5

    def seed(self, api: OpsApi, count: int) -> None:
        """Create at least `count` items (nothing when the resource has them)."""

    def test_pages_follow_next_cursor(self, store: GraphStore, clock: Clock) -> None:
        for api in start_api(store, clock):
            self.seed(api, self.seeded)
            everything = api.client.get(self.path, params={"limit": 1000},
                                        headers=api.auth("admin")).json()
            seen: list[Any] = []
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
                page = api.client.get(self.path, params=params, headers=api.auth("admin"))
                assert page.status_code == 200, page.text
                assert len(page.json()["items"]) <= 2
                seen.extend(page.json()["items"])
                cursor = page.json()["next_cursor"]
                if cursor is None:
                    break
            assert len(seen) >= 3
            assert seen == everything["items"]
            assert everything["next_cursor"] is None
            too_many = api.client.get(self.path, params={"limit": 100_000},
                                      headers=api.auth("admin"))
            assert too_many.status_code == 422
            assert too_many.json()["errors"][0]["loc"] == "query.limit"
