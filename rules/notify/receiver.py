"""What a receiver is to the dispatcher, and where receivers keep ticket references.

A receiver turns one `Notification` into the vendor's API calls. It returns the status
the vendor answered when it accepted the notification, and raises
`TransientDeliveryError` or `PermanentDeliveryError` otherwise; retries, backoff and
dead letters are the dispatcher's business. It must be safe to call again for the
same notification (the previous attempt may have succeeded without us hearing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from rules.notify.model import Notification, TicketRef
from rules.notify.state import DeliveryStore

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Receiver(Protocol):
    name: str
    max_in_flight: int

    def secrets(self) -> list[str]:
        """Secret values this receiver holds, for redaction."""

    async def deliver(self, notification: Notification) -> int | None:
        """Deliver; the accepting status (HTTP/SMTP) or a typed delivery error."""

    async def aclose(self) -> None: ...


class TicketBook(Protocol):
    """Ticket references by (incident, receiver)."""

    async def get(self, incident_id: str, receiver: str) -> TicketRef | None: ...

    async def save(self, ref: TicketRef) -> None: ...


class StoreTicketBook:
    """`TicketBook` on a `DeliveryStore`, its blocking calls run in worker threads."""

    def __init__(self, store: DeliveryStore) -> None:
        self._store = store

    async def get(self, incident_id: str, receiver: str) -> TicketRef | None:
        return await asyncio.to_thread(self._store.ticket_ref, incident_id, receiver)

    async def save(self, ref: TicketRef) -> None:
        await asyncio.to_thread(self._store.save_ticket_ref, ref)
