"""Turning pysnmp's reply tuples into plain values or typed failures."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pysnmp.error import PySnmpError
from pysnmp.proto import errind

from collector.snmp.errors import (
    ERROR_STATUS_NAMES,
    SnmpAgentError,
    SnmpAuthError,
    SnmpError,
    SnmpMalformedReply,
    SnmpProtocolError,
    SnmpTimeout,
)
from collector.snmp.oids import Oid, format_oid
from collector.snmp.snapshot import SnmpValue, VarBind

# USM reports (RFC 3414 usmStats*) and local USM checks, by the reason we give them.
_AUTH_REASONS: tuple[tuple[type[errind.ErrorIndication], str], ...] = (
    (errind.WrongDigest, "wrong_digest"),
    (errind.DecryptionError, "decryption_error"),
    (errind.UnknownUserName, "unknown_user"),
    (errind.UnsupportedSecurityLevel, "unsupported_security_level"),
    (errind.NotInTimeWindow, "not_in_time_window"),
    (errind.UnknownEngineID, "unknown_engine_id"),
    (errind.AuthenticationFailure, "authentication_failure"),
    (errind.AuthenticationError, "authentication_failure"),
    (errind.UnknownSecurityName, "unknown_user"),
)
_MALFORMED: tuple[type[errind.ErrorIndication], ...] = (
    errind.DeserializationError,
    errind.SerializationError,
    errind.OidNotIncreasing,
    errind.EmptyResponse,
    errind.DataMismatch,
    errind.EngineIDMismatch,
    errind.InvalidMsg,
    errind.UnsupportedPDUtype,
)


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """A non-zero error-status in a response PDU; `index` is 0-based, or None when
    the agent gave no usable error-index."""

    name: str
    index: int | None

    def error(self, address: str) -> SnmpAgentError:
        where = "" if self.index is None else f" at varbind {self.index + 1}"
        return SnmpAgentError(f"agent answered {self.name}{where}", status=self.name,
                              address=address)


@contextmanager
def pysnmp_failures(address: str) -> Iterator[None]:
    """Turn an exception pysnmp raises instead of reporting (a reply it could not
    take apart, an engine it could not configure) into a typed failure. Only the
    exception's type is kept: its text is pysnmp's and is not vetted for secrets."""
    try:
        yield
    except PyAsn1Error as exc:
        raise SnmpMalformedReply(f"undecodable reply ({type(exc).__name__})",
                                 address=address) from None
    except PySnmpError as exc:
        raise SnmpProtocolError(f"pysnmp refused the exchange ({type(exc).__name__})",
                                address=address) from None


def check_reply(
    indication: Any, status: Any, index: Any, sent: int, address: str
) -> AgentStatus | None:
    """Raise for an error indication; return the agent's error-status if it set one."""
    if indication:
        raise indication_error(indication, address)
    code = int(status or 0)
    if code == 0:
        return None
    position = int(index or 0) - 1
    return AgentStatus(
        ERROR_STATUS_NAMES.get(code, f"status{code}"),
        position if 0 <= position < sent else None,
    )


def indication_error(indication: Any, address: str) -> SnmpError:
    """The typed failure for one of pysnmp's error indications."""
    detail = str(indication)
    if isinstance(indication, errind.RequestTimedOut):
        return SnmpTimeout("no response before timeout", address=address)
    for kind, reason in _AUTH_REASONS:
        if isinstance(indication, kind):
            return SnmpAuthError(f"v3 security: {detail}", reason=reason, address=address)
    if isinstance(indication, _MALFORMED):
        return SnmpMalformedReply(detail, address=address)
    if isinstance(indication, errind.TooBig):
        return SnmpAgentError(detail, status="tooBig", address=address)
    return SnmpProtocolError(detail, address=address)


def plain_value(value: Any) -> SnmpValue | None:
    """A pysnmp value as int, bytes or OID tuple; None for the SNMP exceptions
    (noSuchObject, noSuchInstance, endOfMibView), which mean "absent"."""
    if isinstance(value, univ.Null):
        return None
    if isinstance(value, univ.ObjectIdentifier):
        return tuple(value)
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    raise SnmpMalformedReply(f"unexpected value type {type(value).__name__}")


def advance_columns(
    cursors: dict[Oid, Oid], active: list[Oid], varbinds: Sequence[Any],
    found: list[VarBind], endpoint: str,
) -> set[Oid]:
    """Take one GETBULK answer (rows of `active` columns, in order) into `found`;
    return the columns that ended: left their subtree or hit endOfMibView."""
    if not varbinds:
        raise SnmpMalformedReply("empty GETBULK answer", address=endpoint)
    finished: set[Oid] = set()
    for position, (name, value) in enumerate(varbinds):
        column = active[position % len(active)]
        if column in finished:
            continue
        oid, plain = tuple(name), plain_value(value)
        if plain is None or oid[: len(column)] != column:
            finished.add(column)
            continue
        if oid <= cursors[column]:
            raise SnmpMalformedReply(f"OID went backwards at {format_oid(oid)}",
                                     address=endpoint)
        cursors[column] = oid
        found.append((oid, plain))
    return finished


def plain_varbinds(varbinds: Sequence[Any]) -> list[VarBind]:
    plain: list[VarBind] = []
    for name, value in varbinds:
        converted = plain_value(value)
        if converted is not None:
            plain.append((tuple(name), converted))
    return plain
