"""ENTITY-MIB: serial number, vendor and model of the chassis.

A stacked switch lists every port and module as an entity, so the poller walks only
`entPhysicalClass` and then GETs the few columns of the one chassis entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.snmp import oids
from collector.snmp.oids import Oid
from collector.snmp.snapshot import Index, Snapshot

_CHASSIS = 3
_STACK = 11


@dataclass(frozen=True, slots=True)
class HardwareIdentity:
    serial: str = ""
    vendor: str = ""
    model: str = ""
    firmware: str = ""


def chassis_index(snapshot: Snapshot) -> Index | None:
    """The entPhysicalIndex of the (first) chassis, else of a stack, else the first."""
    classes = snapshot.integer_column(oids.ENT_PHYSICAL_CLASS)
    for wanted in (_CHASSIS, _STACK):
        for index, physical_class in classes.items():
            if physical_class == wanted:
                return index
    return next(iter(classes), None)


def chassis_detail_oids(snapshot: Snapshot) -> tuple[Oid, ...]:
    """The chassis' serial/vendor/model/firmware instances to GET (none if no entity)."""
    index = chassis_index(snapshot)
    if index is None:
        return ()
    columns = (
        oids.ENT_PHYSICAL_SERIAL, oids.ENT_PHYSICAL_MFG_NAME,
        oids.ENT_PHYSICAL_MODEL_NAME, oids.ENT_PHYSICAL_SOFTWARE_REV,
    )
    return tuple(column + index for column in columns)


def decode_chassis(snapshot: Snapshot) -> HardwareIdentity:
    index = chassis_index(snapshot)
    if index is None:
        return HardwareIdentity()
    return HardwareIdentity(
        serial=snapshot.text(oids.ENT_PHYSICAL_SERIAL + index) or "",
        vendor=snapshot.text(oids.ENT_PHYSICAL_MFG_NAME + index) or "",
        model=snapshot.text(oids.ENT_PHYSICAL_MODEL_NAME + index) or "",
        firmware=snapshot.text(oids.ENT_PHYSICAL_SOFTWARE_REV + index) or "",
    )
