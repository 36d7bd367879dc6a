"""The audit trail: who changed what, when.

Handlers that change something record it themselves with its details — incident
actions in the action's own transaction, token and rule changes with `record()` —
and say so with `mark_audited()`. `AuditTrail` is the safety net underneath: any
other successful `POST`/`PUT`/`PATCH`/`DELETE` under `/v1/` by an authenticated
caller (CI and relationship writes, endpoints added later) is recorded as the route
and path it changed, before the answer leaves. Intake (`/v1/reports`,
`/v1/alertmanager`, `/v1/events`) is data, not change, and is not audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Principal
from cmdb.errors import CMDBError
from cmdb.store import AuditRecord, GraphStore

log = logging.getLogger("opsgraph.audit")
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def mark_audited(request: Request) -> None:
    """The handler recorded its change itself; the safety net must not record it again."""
    request.state.audited = True


def record(store: GraphStore, request: Request, principal: Principal, action: str,
           target: str, at: datetime, **detail: object) -> None:
    """Record one change by `principal` in its own transaction, and mark it audited."""
    entry = AuditRecord(at, principal.name, principal.role, action, target, detail)
    store.write(lambda tx: tx.add_audit([entry]))
    mark_audited(request)


class AuditTrail:
    """ASGI middleware recording successful changes that no handler audited."""

    def __init__(self, app: ASGIApp, store: Callable[[], GraphStore],
                 clock: Callable[[], datetime], skip: Collection[str] = ()) -> None:
        self.app, self._store, self._clock, self._skip = app, store, clock, frozenset(skip)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in CHANGING
                or not scope["path"].startswith("/v1/") or scope["path"] in self._skip):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})

        async def audited_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                principal = state.get("principal")
                if isinstance(principal, Principal) and not state.get("audited"):
                    await run_in_threadpool(self._record, scope, principal,
                                            int(message["status"]))
            await send(message)

        await self.app(scope, receive, audited_send)

    def _record(self, scope: Scope, principal: Principal, status: int) -> None:
        route = getattr(scope.get("route"), "path", scope["path"])
        entry = AuditRecord(self._clock(), principal.name, principal.role,
                            f"{scope['method']} {route}", scope["path"], {"status": status})
        try:
            self._store().write(lambda tx: tx.add_audit([entry]))
        except CMDBError:  # the change is made; failing the answer would mislead
            log.exception("could not audit %s %s by %s", scope["method"], scope["path"],
                          principal.name)
