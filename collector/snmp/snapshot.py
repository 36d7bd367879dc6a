"""What one poll read from a device, as plain values, and typed ways to read it back.

Every GET and walk of a poll lands in one `Snapshot` (OID -> value). Decoders are
pure functions of a snapshot, so they are tested on stored recordings with no agent.

Values are reduced to three Python types: `int` (INTEGER, Counter32/64, Gauge32,
TimeTicks, Unsigned32), `bytes` (OCTET STRING, IpAddress, Opaque, BITS) and `Oid`
(OBJECT IDENTIFIER). Absent objects (noSuchObject, noSuchInstance, endOfMibView) are
simply not in the snapshot.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping

from collector.snmp.errors import SnmpMalformedReply
from collector.snmp.oids import Oid, format_oid

SnmpValue = int | bytes | Oid
VarBind = tuple[Oid, SnmpValue]
Index = tuple[int, ...]


class Snapshot(Mapping[Oid, SnmpValue]):
    """An ordered, read-only view of the varbinds collected from one device."""

    def __init__(self, varbinds: Iterable[VarBind] = ()) -> None:
        self._values: dict[Oid, SnmpValue] = dict(varbinds)
        self._order: list[Oid] = sorted(self._values)

    def __getitem__(self, oid: Oid) -> SnmpValue:
        return self._values[oid]

    def __iter__(self) -> Iterator[Oid]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._values)

    def merged(self, varbinds: Iterable[VarBind]) -> Snapshot:
        """A new snapshot with `varbinds` added (later values win)."""
        return Snapshot([*self._values.items(), *varbinds])

    def subtree(self, root: Oid) -> Iterator[tuple[Index, SnmpValue]]:
        """(suffix after `root`, value) for every OID under `root`, in OID order."""
        start = bisect.bisect_right(self._order, root)
        width = len(root)
        for oid in self._order[start:]:
            if oid[:width] != root:
                return
            yield oid[width:], self._values[oid]

    def has_subtree(self, root: Oid) -> bool:
        return next(self.subtree(root), None) is not None

    # Typed readers: a value of the wrong type is a malformed reply, never a guess.

    def integer(self, oid: Oid) -> int | None:
        value = self._values.get(oid)
        return None if value is None else _as_int(oid, value)

    def octets(self, oid: Oid) -> bytes | None:
        value = self._values.get(oid)
        return None if value is None else _as_bytes(oid, value)

    def text(self, oid: Oid) -> str | None:
        raw = self.octets(oid)
        return None if raw is None else display_text(raw)

    def object_id(self, oid: Oid) -> Oid | None:
        value = self._values.get(oid)
        if value is None:
            return None
        if not isinstance(value, tuple):
            raise SnmpMalformedReply(f"{format_oid(oid)} is not an OBJECT IDENTIFIER")
        return value

    def integer_column(self, column: Oid) -> dict[Index, int]:
        return {index: _as_int(column + index, v) for index, v in self.subtree(column)}

    def octets_column(self, column: Oid) -> dict[Index, bytes]:
        return {index: _as_bytes(column + index, v) for index, v in self.subtree(column)}

    def text_column(self, column: Oid) -> dict[Index, str]:
        return {index: display_text(raw) for index, raw in self.octets_column(column).items()}

    def object_id_column(self, column: Oid) -> dict[Index, Oid]:
        result: dict[Index, Oid] = {}
        for index, value in self.subtree(column):
            if not isinstance(value, tuple):
                raise SnmpMalformedReply(f"{format_oid(column + index)} is not an OID")
            result[index] = value
        return result


def _as_int(oid: Oid, value: SnmpValue) -> int:
    if not isinstance(value, int):
        raise SnmpMalformedReply(f"{format_oid(oid)} is not an integer")
    return value


def _as_bytes(oid: Oid, value: SnmpValue) -> bytes:
    if not isinstance(value, bytes):
        raise SnmpMalformedReply(f"{format_oid(oid)} is not an OCTET STRING")
    return value


def display_text(raw: bytes) -> str:
    """An OCTET STRING as text: UTF-8 (Latin-1 if that fails), NUL padding and
    surrounding white space removed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\x00", "").strip()


def format_mac(raw: bytes) -> str | None:
    """Six octets as ``aa:bb:cc:dd:ee:ff``; anything else is not a MAC address."""
    if len(raw) != 6:
        return None
    return ":".join(f"{octet:02x}" for octet in raw)
