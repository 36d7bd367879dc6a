"""The notify package's exceptions.

    RulesError
    └── NotifyError                 base of everything raised by `rules.notify`
        ├── ReceiverConfigError     a receivers file that cannot be used; `str()` is one
        │                           line naming the file, receiver and field (CLI exit 1)
        ├── DeliveryError           one delivery attempt failed (raised by receivers,
        │   │                       handled by the dispatcher, never by callers)
        │   ├── TransientDeliveryError  worth retrying: timeout, connection error, 408,
        │   │                           429, 5xx, SMTP 4xx; may carry `retry_after`
        │   └── PermanentDeliveryError  not worth retrying: any other 4xx, SMTP 5xx, a
        │                               payload the receiver cannot express; parked as
        │                               a dead letter with `status` and `body`
        └── UnknownDelivery         no outbox entry / dead letter with that id (HTTP 404)

A store that cannot be reached raises `cmdb.errors.StoreUnavailable` (HTTP 503), and
a store URL naming no known store `cmdb.errors.InvalidStoreURL`: the delivery state
lives in the CMDB's own database, so it fails the way the CMDB store does.

Messages never contain secrets: receivers build them from status codes, exception
types and redacted response bodies only.
"""

from __future__ import annotations

from rules.errors import RulesError


class NotifyError(RulesError):
    """Base of every notify error."""


class ReceiverConfigError(NotifyError):
    """One problem in a receivers file, located by file, receiver and field."""

    def __init__(self, path: str, receiver: str | None, field: str | None,
                 reason: str) -> None:
        parts = [path]
        if receiver:
            parts.append(f"receiver {receiver!r}")
        if field:
            parts.append(f"field {field!r}")
        super().__init__(": ".join([*parts, reason]))
        self.path, self.receiver, self.field, self.reason = path, receiver, field, reason


class DeliveryError(NotifyError):
    """A delivery attempt failed. `status` is the HTTP/SMTP status when there was one;
    `body` is the (redacted, truncated) response body."""

    def __init__(self, reason: str, status: int | None = None, body: str | None = None
                 ) -> None:
        super().__init__(reason)
        self.reason, self.status, self.body = reason, status, body


class TransientDeliveryError(DeliveryError):
    """Retry later; `retry_after` (seconds) is the receiver's own hint, if it gave one."""

    def __init__(self, reason: str, status: int | None = None, body: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason, status, body)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: park the entry as a dead letter."""


class UnknownDelivery(NotifyError):
    """No outbox entry (or no dead letter) with that id."""
