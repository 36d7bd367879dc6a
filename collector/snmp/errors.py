"""Typed SNMP failures, and the reachability state each one stands for.

The hierarchy::

    SnmpError                   base of everything the poller raises or records
    ├── SnmpUnreachable         no usable answer: reachability UNREACHABLE
    │   ├── SnmpTimeout         no reply within timeout x (retries + 1)
    │   └── SnmpAddressError    the address does not resolve / no socket
    ├── SnmpAuthError           the agent answered but refused our credentials
    └── SnmpProtocolError       the agent answered, but not usefully
        ├── SnmpNoSuchName      a required object does not exist (or is outside the view)
        ├── SnmpAgentError      the reply carried an error-status (genErr, tooBig, ...)
        └── SnmpMalformedReply  the reply could not be parsed, or a value had the wrong type

Notes on what the wire lets us tell apart:

* **A wrong v2c community is indistinguishable from a dead device.** Agents drop
  requests with an unknown community silently (RFC 3584 / RFC 1901 practice), so it
  surfaces as `SnmpTimeout`. Only v3 can report an authentication failure.
* **A wrong v3 auth key** is answered with a Report PDU carrying
  ``usmStatsWrongDigests`` (1.3.6.1.6.3.15.1.1.5.0): `SnmpAuthError` with reason
  ``"wrong_digest"``. An unknown user gives ``usmStatsUnknownUserNames``
  (``"unknown_user"``).
* **A wrong v3 privacy key** only ever fails decryption. RFC 3414 says the agent
  reports ``usmStatsDecryptionErrors``; net-snmp 5.9 drops the request instead, so
  against net-snmp it is a `SnmpTimeout`. When an agent does send the report it is
  `SnmpAuthError` with reason ``"decryption_error"``.

No error message, ``repr`` or log line produced by this package contains a
community string or USM key: errors carry the address and a description only.
"""

from __future__ import annotations

import enum
from typing import ClassVar


class Reachability(enum.StrEnum):
    """What one poll tells about the device's SNMP agent."""

    REACHABLE = "reachable"
    # The system group answered but at least one later request failed.
    DEGRADED = "degraded"
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"
    PROTOCOL_ERROR = "protocol_error"


class SnmpError(Exception):
    """Base class: a failed SNMP exchange with one device."""

    reachability: ClassVar[Reachability] = Reachability.PROTOCOL_ERROR

    def __init__(self, detail: str, *, address: str = "") -> None:
        self.detail = detail
        self.address = address
        super().__init__(f"{address}: {detail}" if address else detail)

    def at(self, address: str) -> SnmpError:
        """The same failure attributed to `address` (decoders raise without one)."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        SnmpError.__init__(clone, self.detail, address=address)
        return clone

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r}, address={self.address!r})"

    @property
    def kind(self) -> str:
        """A short, stable name of what went wrong (``timeout``, ``wrong_digest``,
        ``no_such_name``, ...), for observation labels and the CLI."""
        return _KINDS.get(type(self), "protocol_error")


class SnmpUnreachable(SnmpError):
    """No usable answer from the device."""

    reachability = Reachability.UNREACHABLE


class SnmpTimeout(SnmpUnreachable):
    """No reply before the timeout, after every retry.

    In v2c this is also what a wrong community looks like: agents do not answer it.
    """


class SnmpAddressError(SnmpUnreachable):
    """The target address could not be resolved or no socket could be opened."""


class SnmpAuthError(SnmpError):
    """The agent answered with a USM report refusing the request.

    `reason` is one of ``wrong_digest``, ``decryption_error``, ``unknown_user``,
    ``unsupported_security_level``, ``not_in_time_window``, ``unknown_engine_id``
    or ``authentication_failure`` (a reply whose own digest did not verify).
    """

    reachability = Reachability.AUTH_FAILED

    def __init__(self, detail: str, *, reason: str, address: str = "") -> None:
        self.reason = reason
        super().__init__(detail, address=address)

    @property
    def kind(self) -> str:
        return self.reason


class SnmpProtocolError(SnmpError):
    """The agent answered, but the answer cannot be used."""

    reachability = Reachability.PROTOCOL_ERROR


class SnmpNoSuchName(SnmpProtocolError):
    """An object the poller cannot do without is absent (noSuchObject/noSuchInstance,
    or outside the credentials' view)."""


class SnmpAgentError(SnmpProtocolError):
    """The response PDU carried a non-zero error-status.

    `status` is the RFC 3416 name (``genErr``, ``tooBig``, ...).
    """

    def __init__(self, detail: str, *, status: str, address: str = "") -> None:
        self.status = status
        super().__init__(detail, address=address)

    @property
    def kind(self) -> str:
        return self.status


class SnmpMalformedReply(SnmpProtocolError):
    """A reply that could not be decoded, went backwards while walking, or held a
    value of the wrong type for its object."""


_KINDS: dict[type[SnmpError], str] = {
    SnmpUnreachable: "unreachable",
    SnmpTimeout: "timeout",
    SnmpAddressError: "address",
    SnmpNoSuchName: "no_such_name",
    SnmpMalformedReply: "malformed_reply",
}

ERROR_STATUS_NAMES: dict[int, str] = {
    1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr",
    6: "noAccess", 7: "wrongType", 8: "wrongLength", 9: "wrongEncoding",
    10: "wrongValue", 11: "noCreation", 12: "inconsistentValue",
    13: "resourceUnavailable", 14: "commitFailed", 15: "undoFailed",
    16: "authorizationError", 17: "notWritable", 18: "inconsistentName",
}
