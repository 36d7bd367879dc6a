"""What a receiver is to the dispatcher.

A receiver turns one `Notification` into the vendor's API calls and returns a
`Receipt` (the status the vendor answered, and any ticket it made or found), or
raises `TransientDeliveryError` / `PermanentDeliveryError`; retries, backoff and dead
letters are the dispatcher's business. It does no storage of its own: the ticket an
earlier delivery made comes in `notification.ticket`, and the one it makes goes out
in the receipt, stored in the transaction that marks the entry delivered. It must be
safe to call again for the same notification: the previous attempt may have
succeeded without our hearing (or recording) it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from rules.notify.model import Notification, Receipt

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Receiver(Protocol):
    name: str
    max_in_flight: int

    def secrets(self) -> list[str]:
        """Secret values this receiver holds, for redaction."""

    async def deliver(self, notification: Notification) -> Receipt:
        """Deliver one notification, or raise a typed delivery error."""

    async def aclose(self) -> None: ...
