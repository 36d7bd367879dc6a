"""Printer-MIB (RFC 3805): identity, marker supplies, input trays and page counters.

Levels are only turned into percentages when both the level and the maximum are
real amounts: -1/-2/-3 mean other/unknown/"some remaining" and become states, never
numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from collector.snmp import oids
from collector.snmp.decode.entity import HardwareIdentity
from collector.snmp.decode.printer_codes import (
    INPUT_TYPES,
    MARKER_COUNTER_UNITS,
    PAGE_COUNTER_UNITS,
    SPECIAL_LEVELS,
    SUPPLY_CLASS_FILLED,
    SUPPLY_TYPES,
    name_of,
)
from collector.snmp.model import Sample, state_sample, value_sample
from collector.snmp.oids import Oid
from collector.snmp.snapshot import Index, Snapshot


def printer_indexes(snapshot: Snapshot) -> list[Index]:
    """hrDeviceIndex of each printer: from hrPrinterTable, else from prtGeneralTable."""
    found = {index for index in snapshot.integer_column(oids.HR_PRINTER_STATUS)}
    if not found:
        found = {suffix[1:] for suffix, _ in snapshot.subtree(oids.PRT_GENERAL_ENTRY)}
    return sorted(index for index in found if index)


def printer_detail_oids(snapshot: Snapshot) -> tuple[Oid, ...]:
    """Serial number, name and device description of the first printer, to GET."""
    indexes = printer_indexes(snapshot) or [(1,)]
    index = indexes[0]
    return (
        oids.PRT_GENERAL_SERIAL_NUMBER + index,
        oids.PRT_GENERAL_PRINTER_NAME + index,
        oids.HR_DEVICE_DESCR + index,
    )


def decode_printer_identity(snapshot: Snapshot) -> HardwareIdentity:
    indexes = printer_indexes(snapshot) or [(1,)]
    index = indexes[0]
    model = snapshot.text(oids.HR_DEVICE_DESCR + index) or ""
    return HardwareIdentity(
        serial=snapshot.text(oids.PRT_GENERAL_SERIAL_NUMBER + index) or "",
        model=model or snapshot.text(oids.PRT_GENERAL_PRINTER_NAME + index) or "",
    )


def level_state(level: int, max_capacity: int, filled: bool = False) -> str:
    """What a Printer-MIB level says, as a state name."""
    if level < 0:
        return SPECIAL_LEVELS.get(level, "unknown")
    if filled:
        return "full" if 0 < max_capacity <= level else "available"
    return "empty" if level == 0 else "available"


def level_percent(level: int, max_capacity: int) -> float | None:
    """`level` as a percentage of `max_capacity`, or None unless both are amounts."""
    if level < 0 or max_capacity <= 0:
        return None
    return round(min(100.0, 100.0 * level / max_capacity), 2)


@dataclass(frozen=True, slots=True)
class SupplyLevel:
    """One prtMarkerSuppliesEntry. `filled` marks a receptacle (waste toner box)
    whose level rises as it fills."""

    index: Index
    description: str
    supply_type: str
    filled: bool
    colorant: str
    max_capacity: int
    level: int

    @property
    def state(self) -> str:
        return level_state(self.level, self.max_capacity, self.filled)

    @property
    def percent(self) -> float | None:
        return level_percent(self.level, self.max_capacity)

    def as_attribute(self) -> dict[str, object]:
        return {"name": self.description, "type": self.supply_type, "color": self.colorant,
                "receptacle": self.filled, "level_percent": self.percent, "state": self.state}


def decode_supplies(snapshot: Snapshot) -> list[SupplyLevel]:
    types = snapshot.integer_column(oids.PRT_MARKER_SUPPLIES_TYPE)
    classes = snapshot.integer_column(oids.PRT_MARKER_SUPPLIES_CLASS)
    descriptions = snapshot.text_column(oids.PRT_MARKER_SUPPLIES_DESCRIPTION)
    maxima = snapshot.integer_column(oids.PRT_MARKER_SUPPLIES_MAX_CAPACITY)
    levels = snapshot.integer_column(oids.PRT_MARKER_SUPPLIES_LEVEL)
    colorant_of = snapshot.integer_column(oids.PRT_MARKER_SUPPLIES_COLORANT_INDEX)
    colorants = snapshot.text_column(oids.PRT_MARKER_COLORANT_VALUE)
    supplies = []
    for index, level in levels.items():
        supply_type = name_of(SUPPLY_TYPES, types.get(index, 2), "type")
        colorant_index = (index[0], colorant_of.get(index, 0))
        supplies.append(SupplyLevel(
            index=index,
            description=descriptions.get(index) or f"{supply_type} {index[-1]}",
            supply_type=supply_type,
            filled=classes.get(index) == SUPPLY_CLASS_FILLED,
            colorant=colorants.get(colorant_index, ""),
            max_capacity=maxima.get(index, -2),
            level=level,
        ))
    return supplies


def supply_samples(supplies: list[SupplyLevel]) -> list[Sample]:
    """``printer.supply.level_percent`` (consumables: what is left),
    ``printer.supply.fill_percent`` (receptacles: how full) and
    ``printer.supply.state`` for every supply."""
    samples: list[Sample] = []
    duplicated = _duplicates([supply.description for supply in supplies])
    for supply in supplies:
        labels = {"supply": supply.description, "type": supply.supply_type}
        if supply.colorant:
            labels["color"] = supply.colorant
        if supply.description in duplicated:
            labels["index"] = str(supply.index[-1])
        percent = supply.percent
        if percent is not None:
            name = "fill_percent" if supply.filled else "level_percent"
            samples.append(value_sample(f"printer.supply.{name}", percent, "percent", labels))
        samples.append(state_sample("printer.supply.state", supply.state, labels))
    return samples


@dataclass(frozen=True, slots=True)
class TrayLevel:
    """One prtInputEntry (a paper tray or manual feed)."""

    index: Index
    name: str
    tray_type: str
    media: str
    max_capacity: int
    level: int

    @property
    def state(self) -> str:
        return level_state(self.level, self.max_capacity)

    @property
    def percent(self) -> float | None:
        return level_percent(self.level, self.max_capacity)

    def as_attribute(self) -> dict[str, object]:
        return {"name": self.name, "type": self.tray_type, "media": self.media,
                "level_percent": self.percent, "state": self.state}


def decode_trays(snapshot: Snapshot) -> list[TrayLevel]:
    names = snapshot.text_column(oids.PRT_INPUT_NAME)
    descriptions = snapshot.text_column(oids.PRT_INPUT_DESCRIPTION)
    media = snapshot.text_column(oids.PRT_INPUT_MEDIA_NAME)
    types = snapshot.integer_column(oids.PRT_INPUT_TYPE)
    maxima = snapshot.integer_column(oids.PRT_INPUT_MAX_CAPACITY)
    levels = snapshot.integer_column(oids.PRT_INPUT_CURRENT_LEVEL)
    return [
        TrayLevel(
            index=index,
            name=names.get(index) or descriptions.get(index) or f"Input {index[-1]}",
            tray_type=name_of(INPUT_TYPES, types.get(index, 2), "type"),
            media=media.get(index, ""),
            max_capacity=maxima.get(index, -2),
            level=level,
        )
        for index, level in levels.items()
    ]


def tray_samples(trays: list[TrayLevel]) -> list[Sample]:
    """``printer.tray.level_percent`` and ``printer.tray.state`` per input tray."""
    samples: list[Sample] = []
    duplicated = _duplicates([tray.name for tray in trays])
    for tray in trays:
        labels = {"tray": tray.name}
        if tray.name in duplicated:
            labels["index"] = str(tray.index[-1])
        percent = tray.percent
        if percent is not None:
            samples.append(value_sample("printer.tray.level_percent", percent, "percent", labels))
        samples.append(state_sample("printer.tray.state", tray.state, labels))
    return samples


def page_count_samples(snapshot: Snapshot) -> list[Sample]:
    """``printer.page_count`` from prtMarkerLifeCount when it counts impressions or
    sheets; other units become ``printer.marker.life_count{counter_unit=...}``.
    A ``marker`` label is added only when the printer has more than one marker."""
    counts = snapshot.integer_column(oids.PRT_MARKER_LIFE_COUNT)
    units = snapshot.integer_column(oids.PRT_MARKER_COUNTER_UNIT)
    samples = []
    for index, count in counts.items():
        labels = {"marker": str(index[-1])} if len(counts) > 1 else {}
        unit = units.get(index)
        if unit is None or unit in PAGE_COUNTER_UNITS:
            samples.append(value_sample("printer.page_count", count, "count", labels))
        else:
            labels["counter_unit"] = name_of(MARKER_COUNTER_UNITS, unit, "unit")
            samples.append(value_sample("printer.marker.life_count", count, "count", labels))
    return samples


def _duplicates(names: list[str]) -> set[str]:
    return {name for name, count in Counter(names).items() if count > 1}
