"""Keeping requests that share a v3 user name but not its keys apart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from collector.snmp.credentials import Credentials, UsmCredentials


class UsmTurns:
    """Makes requests that use one v3 user name with different keys take turns.

    pysnmp keeps one key set per user name in an engine and swaps it when a request
    brings other keys; a reply still in flight for the old keys would then fail its
    digest check. Requests with the same keys run together; others wait.
    """

    def __init__(self) -> None:
        self._holders: dict[str, tuple[UsmCredentials, int]] = {}
        self._changed: asyncio.Condition | None = None

    @asynccontextmanager
    async def turn(self, credentials: Credentials) -> AsyncIterator[None]:
        if not isinstance(credentials, UsmCredentials):
            yield
            return
        if self._changed is None:
            self._changed = asyncio.Condition()
        changed, user = self._changed, credentials.user
        async with changed:
            await changed.wait_for(
                lambda: user not in self._holders or self._holders[user][0] == credentials
            )
            self._holders[user] = (credentials, self._holders.get(user, (credentials, 0))[1] + 1)
        try:
            yield
        finally:
            async with changed:
                holder, count = self._holders[user]
                if count > 1:
                    self._holders[user] = (holder, count - 1)
                else:
                    del self._holders[user]
                changed.notify_all()
