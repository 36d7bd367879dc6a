"""`/v1/tokens`: API tokens (admin only). Tokens are listed without secrets, by a
public id; a new token is shown once, in the answer that creates it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.audit import record
from api.auth import ROLES, Admin, Role, find_token, hash_token, issue_token, token_id
from api.deps import StoreDep
from api.problems import Problem
from cmdb.records import ApiToken

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])
TokenId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="a token's public id")]
RoleName = Literal["agent", "integration", "operator", "admin"]
assert set(RoleName.__args__) == set(ROLES)  # type: ignore[attr-defined]


class TokenOut(BaseModel):
    id: str
    name: str
    role: str
    agent_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(id=token_id(token), name=token.name, role=token.role,
                   agent_id=token.agent_id, created_at=token.created_at)


class TokenPage(BaseModel):
    items: list[TokenOut]
    next_cursor: str | None


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: RoleName
    name: Annotated[str, Field(min_length=1, max_length=100)]
    agent_id: Annotated[str, Field(min_length=1, max_length=128,
                                   pattern=r"^[A-Za-z0-9._:-]+$")] | None = None

    @model_validator(mode="after")
    def _agent_needs_id(self) -> TokenRequest:
        if (self.role == "agent") != (self.agent_id is not None):
            raise ValueError("agent_id is required for, and only for, the agent role")
        return self


class TokenCreated(TokenOut):
    token: str = Field(description="the bearer token; shown this once, only its hash is kept")


@router.get("", response_model=TokenPage)
def list_tokens(
    _: Admin, store: StoreDep, role: RoleName | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=16)] = None,
) -> TokenPage:
    """Tokens by id, without secrets; `cursor` is the last id of the previous page."""
    tokens = sorted((t for t in store.tokens() if role is None or t.role == role),
                    key=token_id)
    after = [t for t in tokens if cursor is None or token_id(t) > cursor]
    page = after[:limit]
    return TokenPage(items=[TokenOut.of(t) for t in page],
                     next_cursor=token_id(page[-1]) if len(after) > limit else None)


@router.post("", status_code=201, response_model=TokenCreated)
async def create_token(principal: Admin, body: TokenRequest, request: Request,
                       store: StoreDep) -> TokenCreated:
    """Create a token; the answer is the only time it is shown."""
    now: datetime = request.app.state.clock()
    role: Role = body.role
    secret = await run_in_threadpool(issue_token, store, role, body.name, now, body.agent_id)
    created = ApiToken(hash_token(secret), role, body.name, now, body.agent_id)
    await run_in_threadpool(record, store, request, principal, "token.create",
                            token_id(created), now, name=body.name, role=role,
                            agent_id=body.agent_id)
    return TokenCreated(**TokenOut.of(created).model_dump(), token=secret)


@router.delete("/{public_id}", status_code=204, response_class=Response)
async def revoke_token(public_id: TokenId, principal: Admin, request: Request,
                       store: StoreDep) -> Response:
    """Revoke a token: it is refused (401) from the next request on."""
    token = await run_in_threadpool(find_token, store, public_id)
    if token is None or not await run_in_threadpool(store.revoke_token, token.token_hash):
        raise Problem(404, "Not found", f"no token with id {public_id!r}")
    request.app.state.tokens.clear()
    await run_in_threadpool(record, store, request, principal, "token.revoke", public_id,
                            request.app.state.clock(), name=token.name, role=token.role)
    return Response(status_code=204)
