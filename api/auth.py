"""Bearer tokens with roles. Only SHA-256 hashes are stored; a token is shown once,
when it is created.

Roles: `agent` (post reports for its own agent id), `integration` (event intake),
`operator` (read, incident actions), `admin` (everything).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Request

from api.problems import Problem
from cmdb.records import ApiToken
from cmdb.store import GraphStore

Role = Literal["agent", "integration", "operator", "admin"]
ROLES: tuple[Role, ...] = ("agent", "integration", "operator", "admin")
TOKEN_PREFIX = "og_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's role and name, and for agents their agent id."""

    role: Role
    name: str
    agent_id: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def issue_token(store: GraphStore, role: Role, name: str, now: datetime,
                agent_id: str | None = None) -> str:
    """Create a token, store its hash, return the token (the only time it is seen)."""
    if role == "agent" and not agent_id:
        raise ValueError("an agent token needs the agent id it may report for")
    token = new_token()
    store.add_token(ApiToken(hash_token(token), role, name, now, agent_id))
    return token


def token_id(token: ApiToken) -> str:
    """A token's public id: the start of its hash (the token itself is never kept)."""
    return token.token_hash[:16]


def find_token(store: GraphStore, public_id: str) -> ApiToken | None:
    return next((t for t in store.tokens() if token_id(t) == public_id), None)


class TokenCache:
    """Known token hashes for a few seconds, so intake does not read the store for
    every report. Revoking through this process clears it; another process's revoke
    takes effect within `ttl` seconds. Unknown tokens are never cached."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._known: dict[str, tuple[float, ApiToken]] = {}

    def lookup(self, store: GraphStore, token_hash: str) -> ApiToken | None:
        now = time.monotonic()
        hit = self._known.get(token_hash)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        stored = store.token(token_hash)
        if stored is None:
            self._known.pop(token_hash, None)
        else:
            if len(self._known) > 100_000:
                self._known.clear()
            self._known[token_hash] = (now, stored)
        return stored

    def clear(self) -> None:
        self._known.clear()


def current_principal(request: Request) -> Principal:
    """The caller named by `Authorization: Bearer ...`; 401 when absent or unknown."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "Unauthorized", "a bearer token is required")
    store: GraphStore = request.app.state.store
    cache: TokenCache | None = getattr(request.app.state, "tokens", None)
    token_hash = hash_token(token.strip())
    stored = cache.lookup(store, token_hash) if cache else store.token(token_hash)
    if stored is None:
        raise Problem(401, "Unauthorized", "unknown or revoked token")
    principal = Principal(stored.role, stored.name, stored.agent_id)  # type: ignore[arg-type]
    request.state.principal = principal  # for the audit trail
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting `roles` and admin; 403 for any other role."""
    allowed = {*roles, "admin"}

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Problem(403, "Forbidden",
                          f"role {principal.role!r} may not do this; needs {sorted(allowed)}")
        return principal

    return check


Operator = Annotated[Principal, Depends(require("operator"))]
AgentOrAdmin = Annotated[Principal, Depends(require("agent"))]
Integration = Annotated[Principal, Depends(require("integration"))]
Admin = Annotated[Principal, Depends(require())]
