"""What to ask each kind of device, once it is classified.

A plan is an ordered list of steps: a GET of scalars (possibly chosen from what
earlier steps found, e.g. the chassis entry), a GETBULK walk of one small table, or
a side-by-side walk of the few columns needed from a large one; a step may be
skipped when earlier answers make it pointless. Every step names the `Section` whose
decoding depends on it, so a failed step withholds exactly the facts it would have
supported.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from collector.snmp import oids
from collector.snmp.classify import DeviceKind
from collector.snmp.decode.entity import chassis_detail_oids
from collector.snmp.decode.lldp import lldp_local_port_oids
from collector.snmp.decode.printer import printer_detail_oids
from collector.snmp.oids import Oid
from collector.snmp.snapshot import Snapshot


class Section(enum.StrEnum):
    HARDWARE = "hardware"
    INTERFACES = "interfaces"
    FDB = "fdb"
    LLDP = "lldp"
    PRINTER_STATUS = "printer_status"
    SUPPLIES = "supplies"
    TRAYS = "trays"
    PAGE_COUNT = "page_count"
    ALERTS = "alerts"
    HOST = "host"
    STORAGE = "storage"
    PROCESSORS = "processors"


@dataclass(frozen=True, slots=True)
class Get:
    """GET the OIDs `select` picks from what the poll has read so far."""

    section: Section
    select: Callable[[Snapshot], tuple[Oid, ...]]


@dataclass(frozen=True, slots=True)
class Walk:
    """Walk `root` unless `skip` says earlier answers make it pointless."""

    section: Section
    root: Oid
    skip: Callable[[Snapshot], bool] | None = None


@dataclass(frozen=True, slots=True)
class Columns:
    """Walk several columns side by side (whole rows per answer), unless `skip` says
    earlier answers make it pointless. The columns may come from several small
    tables (`also` names the other sections they feed): one walk of all of them
    costs far fewer round trips than one per table."""

    section: Section
    columns: tuple[Oid, ...]
    skip: Callable[[Snapshot], bool] | None = None
    also: tuple[Section, ...] = ()


Step = Get | Walk | Columns


def sections_of(step: Step) -> tuple[Section, ...]:
    """The sections whose facts depend on `step`."""
    return (step.section, *step.also) if isinstance(step, Columns) else (step.section,)


def _fixed(*scalars: Oid) -> Callable[[Snapshot], tuple[Oid, ...]]:
    return lambda _snapshot: scalars


def _has(root: Oid) -> Callable[[Snapshot], bool]:
    return lambda snapshot: snapshot.has_subtree(root)


def _lacks(root: Oid) -> Callable[[Snapshot], bool]:
    return lambda snapshot: not snapshot.has_subtree(root)


def _lacks_or_has(needed: Oid, replacement: Oid) -> Callable[[Snapshot], bool]:
    return lambda s: not s.has_subtree(needed) or s.has_subtree(replacement)


_ENTITY: tuple[Step, ...] = (
    Walk(Section.HARDWARE, oids.ENT_PHYSICAL_CLASS, skip=_lacks(oids.ENT_PHYSICAL_ENTRY)),
    Get(Section.HARDWARE, chassis_detail_oids),
)
_IF_IDENTITY: tuple[Step, ...] = (
    Columns(Section.INTERFACES, (oids.IF_DESCR, oids.IF_TYPE, oids.IF_PHYS_ADDRESS)),
)

# A printer's tables are short (a few supplies, trays and alerts): the columns its
# decoders read are walked together, the ones with up to a handful of rows in one
# walk and the supplies and trays in another, so a printer costs about six round
# trips in all. The printer's index comes from the probe, so its details are a GET.
PRINTER_PLAN: tuple[Step, ...] = (
    Get(Section.HARDWARE, printer_detail_oids),
    Columns(Section.PRINTER_STATUS, (
        oids.HR_PRINTER_STATUS, oids.HR_PRINTER_DETECTED_ERROR_STATE,
        oids.IF_TYPE, oids.IF_PHYS_ADDRESS,
        oids.PRT_MARKER_COUNTER_UNIT, oids.PRT_MARKER_LIFE_COUNT,
        oids.PRT_ALERT_SEVERITY_LEVEL, oids.PRT_ALERT_GROUP, oids.PRT_ALERT_GROUP_INDEX,
        oids.PRT_ALERT_LOCATION, oids.PRT_ALERT_CODE, oids.PRT_ALERT_DESCRIPTION,
    ), also=(Section.INTERFACES, Section.PAGE_COUNT, Section.ALERTS)),
    Columns(Section.SUPPLIES, (
        oids.PRT_MARKER_SUPPLIES_COLORANT_INDEX, oids.PRT_MARKER_SUPPLIES_CLASS,
        oids.PRT_MARKER_SUPPLIES_TYPE, oids.PRT_MARKER_SUPPLIES_DESCRIPTION,
        oids.PRT_MARKER_SUPPLIES_MAX_CAPACITY, oids.PRT_MARKER_SUPPLIES_LEVEL,
        oids.PRT_MARKER_COLORANT_VALUE,
        oids.PRT_INPUT_TYPE, oids.PRT_INPUT_MAX_CAPACITY, oids.PRT_INPUT_CURRENT_LEVEL,
        oids.PRT_INPUT_MEDIA_NAME, oids.PRT_INPUT_NAME, oids.PRT_INPUT_DESCRIPTION,
    ), also=(Section.TRAYS,)),
)

NETWORK_PLAN: tuple[Step, ...] = (
    Get(Section.HARDWARE, _fixed(oids.DOT1D_BASE_BRIDGE_ADDRESS)),
    *_ENTITY,
    Columns(Section.INTERFACES, (
        oids.IF_DESCR, oids.IF_TYPE, oids.IF_ADMIN_STATUS, oids.IF_OPER_STATUS,
        oids.IF_IN_ERRORS, oids.IF_OUT_ERRORS,
    )),
    Columns(Section.INTERFACES, (
        oids.IF_NAME, oids.IF_HC_IN_OCTETS, oids.IF_HC_OUT_OCTETS, oids.IF_HIGH_SPEED,
        oids.IF_ALIAS,
    )),
    # 32-bit octet counters only from agents without the 64-bit ones
    Columns(Section.INTERFACES, (oids.IF_IN_OCTETS, oids.IF_OUT_OCTETS),
            skip=_has(oids.IF_HC_IN_OCTETS)),
    Walk(Section.FDB, oids.DOT1D_BASE_PORT_IF_INDEX, skip=_lacks(oids.DOT1D_BASE)),
    Columns(Section.FDB, (oids.DOT1Q_TP_FDB_PORT, oids.DOT1Q_TP_FDB_STATUS),
            skip=_lacks(oids.DOT1D_BASE)),
    # The plain BRIDGE-MIB table only when the switch does not fill the Q-BRIDGE one.
    Columns(Section.FDB, (oids.DOT1D_TP_FDB_PORT, oids.DOT1D_TP_FDB_STATUS),
            skip=_lacks_or_has(oids.DOT1D_BASE, oids.DOT1Q_TP_FDB_PORT)),
    Columns(Section.LLDP, (
        oids.LLDP_REM_CHASSIS_ID_SUBTYPE, oids.LLDP_REM_CHASSIS_ID, oids.LLDP_REM_PORT_ID_SUBTYPE,
        oids.LLDP_REM_PORT_ID, oids.LLDP_REM_PORT_DESC, oids.LLDP_REM_SYS_NAME,
    ), skip=_lacks(oids.LLDP_REM_ENTRY)),
    Get(Section.LLDP, lldp_local_port_oids),
)

HOST_PLAN: tuple[Step, ...] = (
    Get(Section.HOST, _fixed(
        oids.HR_SYSTEM_UPTIME, oids.HR_SYSTEM_NUM_USERS, oids.HR_SYSTEM_PROCESSES,
        oids.HR_MEMORY_SIZE,
    )),
    *_ENTITY,
    *_IF_IDENTITY,
    Walk(Section.STORAGE, oids.HR_STORAGE_ENTRY),
    Walk(Section.PROCESSORS, oids.HR_PROCESSOR_LOAD),
)

UNKNOWN_PLAN: tuple[Step, ...] = (*_ENTITY, *_IF_IDENTITY)

PLANS: dict[DeviceKind, tuple[Step, ...]] = {
    DeviceKind.PRINTER: PRINTER_PLAN,
    DeviceKind.NETWORK_DEVICE: NETWORK_PLAN,
    DeviceKind.SERVER: HOST_PLAN,
    DeviceKind.COMPUTER: HOST_PLAN,
    DeviceKind.UNKNOWN: UNKNOWN_PLAN,
}
