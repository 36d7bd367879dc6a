"""Recorded devices for the SNMP unit tests: `.snmprec` files read into a `Snapshot`,
and a `DeviceReader` that answers GET/GETNEXT/walk from one, with no agent."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from collector.snmp.oids import Oid, parse_oid
from collector.snmp.snapshot import Snapshot, SnmpValue, VarBind

DATA = Path(__file__).resolve().parents[2] / "data" / "snmp"
_INTEGER_TAGS = {"2", "65", "66", "67", "70"}


def parse_snmprec_line(line: str) -> VarBind | None:
    """One ``OID|TAG|VALUE`` record as a varbind; a variation module's value is read
    at its ``initial=`` setting. Null (tag 5) records are absent objects."""
    oid_text, tag, value = line.rstrip("\n").split("|", 2)
    tag, _, module = tag.partition(":")
    if module:
        settings = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
        value = str(int(float(settings.get("initial", settings.get("value", "0")))))
    parsed: SnmpValue
    if tag in _INTEGER_TAGS:
        parsed = int(value)
    elif tag == "4":
        parsed = value.encode("utf-8")
    elif tag == "4x":
        parsed = bytes.fromhex(value)
    elif tag == "6":
        parsed = parse_oid(value)
    elif tag == "64":
        parsed = ipaddress.IPv4Address(value).packed
    elif tag == "5":
        return None
    else:
        raise ValueError(f"unsupported snmprec tag {tag!r}")
    return parse_oid(oid_text), parsed


def load_recording(name: str) -> Snapshot:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return Snapshot(vb for vb in map(parse_snmprec_line, lines) if vb is not None)


class RecordedDevice:
    """Answers like an agent holding `snapshot`; counts the requests it was sent."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.requests: list[tuple[str, tuple[Oid, ...]]] = []

    async def get(self, oids: Sequence[Oid]) -> list[VarBind]:
        self.requests.append(("get", tuple(oids)))
        return [(oid, self.snapshot[oid]) for oid in oids if oid in self.snapshot]

    async def get_next(self, oids: Sequence[Oid]) -> list[VarBind]:
        self.requests.append(("get_next", tuple(oids)))
        found = []
        for oid in oids:
            following = next((o for o in self.snapshot if o > oid), None)
            if following is not None:
                found.append((following, self.snapshot[following]))
        return found

    async def walk(self, root: Oid) -> list[VarBind]:
        self.requests.append(("walk", (root,)))
        return [(root + suffix, value) for suffix, value in self.snapshot.subtree(root)]

    async def walk_columns(self, columns: Sequence[Oid]) -> list[VarBind]:
        self.requests.append(("walk_columns", tuple(columns)))
        return [
            (column + suffix, value)
            for column in columns
            for suffix, value in self.snapshot.subtree(column)
        ]

    def walked(self) -> list[Oid]:
        """Every root or column walked, whichever way."""
        return [oid for kind, oids in self.requests if kind.startswith("walk") for oid in oids]


@pytest.fixture
def recording() -> Callable[[str], Snapshot]:
    return load_recording


@pytest.fixture
def recorded_device() -> Callable[[str], RecordedDevice]:
    """A `RecordedDevice` for a recording in tests/data/snmp/ by file name."""
    return lambda name: RecordedDevice(load_recording(name))
