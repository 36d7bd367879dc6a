"""Printer condition: hrPrinterStatus, hrPrinterDetectedErrorState and prtAlertTable."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from collector.snmp import oids
from collector.snmp.decode.printer_codes import (
    ALERT_CODES,
    ALERT_GROUPS,
    ALERT_SEVERITIES,
    DETECTED_ERROR_BITS,
    PRINTER_STATUS,
    name_of,
)
from collector.snmp.model import Sample, state_sample
from collector.snmp.snapshot import Index, Snapshot

_GROUP_SUPPLIES = 11
_GROUP_INPUT = 8
CLEAR = "clear"
KNOWN_CONDITIONS = frozenset(DETECTED_ERROR_BITS)


def detected_errors(raw: bytes) -> list[str]:
    """Names of the conditions set in an hrPrinterDetectedErrorState bit string.

    Bit 0 is the most significant bit of the first octet. Many printers send one
    octet (bits 0-7) and some send none: missing octets are all-clear.
    """
    names = []
    for bit in range(len(raw) * 8):
        if raw[bit // 8] & (0x80 >> (bit % 8)):
            names.append(DETECTED_ERROR_BITS[bit] if bit < len(DETECTED_ERROR_BITS)
                         else f"bit{bit}")
    return names


def printer_condition_samples(snapshot: Snapshot) -> list[Sample]:
    """``printer.status`` (idle/printing/warmup/...) and one ``printer.error`` per
    known condition, labelled ``condition``: its state is the condition's name
    (``jammed``, ``no_paper``, ...) while it is set and ``clear`` when it is not.

    Every known condition is reported on every poll, so a state rule on one of them
    sees it clear (a jam that was removed), not just stop being mentioned.
    """
    samples: list[Sample] = []
    statuses = snapshot.integer_column(oids.HR_PRINTER_STATUS)
    errors = snapshot.octets_column(oids.HR_PRINTER_DETECTED_ERROR_STATE)
    several = len(statuses) > 1
    for index, status in statuses.items():
        labels = {"device": str(index[-1])} if several else {}
        samples.append(state_sample("printer.status", name_of(PRINTER_STATUS, status, "status"),
                                    labels))
        conditions = set(detected_errors(errors.get(index, b"")))
        for condition in (*DETECTED_ERROR_BITS, *sorted(conditions - KNOWN_CONDITIONS)):
            state = condition if condition in conditions else CLEAR
            samples.append(state_sample("printer.error", state,
                                        {**labels, "condition": condition}))
    return samples


def active_conditions(samples: Iterable[Sample]) -> list[str]:
    """The conditions set among `printer.error` samples."""
    return [s.state for s in samples
            if s.name == "printer.error" and s.state is not None and s.state != CLEAR]


@dataclass(frozen=True, slots=True)
class PrinterAlert:
    """One row of prtAlertTable: an active alert on a sub-unit of the printer."""

    index: Index
    severity: str
    group_code: int
    group_index: int
    location: int
    code: str
    description: str


def decode_alerts(snapshot: Snapshot) -> list[PrinterAlert]:
    severities = snapshot.integer_column(oids.PRT_ALERT_SEVERITY_LEVEL)
    groups = snapshot.integer_column(oids.PRT_ALERT_GROUP)
    group_indexes = snapshot.integer_column(oids.PRT_ALERT_GROUP_INDEX)
    locations = snapshot.integer_column(oids.PRT_ALERT_LOCATION)
    codes = snapshot.integer_column(oids.PRT_ALERT_CODE)
    descriptions = snapshot.text_column(oids.PRT_ALERT_DESCRIPTION)
    return [
        PrinterAlert(
            index=index,
            severity=name_of(ALERT_SEVERITIES, severity, "severity"),
            group_code=groups.get(index, 1),
            group_index=group_indexes.get(index, -1),
            location=locations.get(index, -1),
            code=name_of(ALERT_CODES, codes.get(index, 2), "code"),
            description=descriptions.get(index, ""),
        )
        for index, severity in severities.items()
    ]


def alert_samples(
    alerts: list[PrinterAlert],
    supply_names: Mapping[Index, str] | None = None,
    tray_names: Mapping[Index, str] | None = None,
) -> list[Sample]:
    """``printer.alert`` per active alert: state is the alert code (``jam``,
    ``markerTonerAlmostEmpty``); labels carry severity, group and description, and
    ``subunit`` names the supply or tray the alert is about when it is known."""
    subunits = {_GROUP_SUPPLIES: supply_names or {}, _GROUP_INPUT: tray_names or {}}
    samples = []
    for alert in alerts:
        labels = {
            "severity": alert.severity,
            "group": name_of(ALERT_GROUPS, alert.group_code, "group"),
            "code": alert.code,
        }
        if alert.description:
            labels["description"] = alert.description
        if alert.group_index >= 0:
            labels["group_index"] = str(alert.group_index)
            names = subunits.get(alert.group_code, {})
            subunit = names.get((alert.index[0], alert.group_index))
            if subunit:
                labels["subunit"] = subunit
        samples.append(state_sample("printer.alert", alert.code, labels))
    return samples
