"""Printer-MIB and HOST-RESOURCES printer decoding, on the stored printer recordings."""

from __future__ import annotations

import pytest

from collector.snmp.decode.printer import (
    decode_printer_identity,
    decode_supplies,
    decode_trays,
    level_percent,
    level_state,
    page_count_samples,
    supply_samples,
    tray_samples,
)
from collector.snmp.decode.printer_alerts import (
    alert_samples,
    decode_alerts,
    detected_errors,
    printer_condition_samples,
)


def by_label(samples, name, key):
    return {s.label(key): s for s in samples if s.name == name}


@pytest.mark.parametrize(
    ("level", "maximum", "percent", "state"),
    [
        (35, 100, 35.0, "available"),
        (0, 100, 0.0, "empty"),
        (18600, 30000, 62.0, "available"),
        (-1, 100, None, "other"),
        (-2, 100, None, "unknown"),
        (-3, 100, None, "some_remaining"),
        (50, -2, None, "available"),  # an amount, but of an unknown maximum
        (120, 100, 100.0, "available"),  # firmware that overshoots its maximum
    ],
)
def test_levels_below_zero_are_states_not_percentages(level, maximum, percent, state):
    assert level_percent(level, maximum) == percent
    assert level_state(level, maximum) == state


def test_a_full_receptacle_is_full_not_available():
    assert level_state(100, 100, filled=True) == "full"
    assert level_state(35, 100, filled=True) == "available"


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b"", []),
        (b"\x00", []),
        (b"\x04", ["jammed"]),  # one octet, as many printers send
        (b"\x04\x00", ["jammed"]),
        (b"\x80", ["low_paper"]),  # bit 0 is the most significant bit
        (b"\x20\x00", ["low_toner"]),
        (b"\x48\x80", ["no_paper", "door_open", "input_tray_missing"]),
        (b"\x00\x02", ["overdue_prevent_maint"]),
        (b"\x00\x01", ["bit15"]),
    ],
)
def test_detected_error_state_bits(raw, names):
    assert detected_errors(raw) == names


def test_mono_laser_supplies(recording):
    supplies = supply_samples(decode_supplies(recording("printer-mono-laser.snmprec")))
    levels = by_label(supplies, "printer.supply.level_percent", "supply")
    assert levels["Black Toner"].value == 35.0
    assert levels["Black Toner"].unit == "percent"
    assert levels["Black Toner"].label("color") == "black"
    assert levels["Black Toner"].label("type") == "toner"
    assert levels["Drum Unit"].value == 62.0
    assert levels["Drum Unit"].label("type") == "opc"
    states = by_label(supplies, "printer.supply.state", "supply")
    assert {name: s.state for name, s in states.items()} == {
        "Black Toner": "available", "Drum Unit": "available",
    }


def test_colour_mfp_supplies_keep_special_levels_out_of_percentages(recording):
    samples = supply_samples(decode_supplies(recording("printer-colour-mfp.snmprec")))
    levels = by_label(samples, "printer.supply.level_percent", "supply")
    assert {name: s.value for name, s in levels.items()} == {
        "Black Toner": 85.0, "Cyan Toner": 42.0, "Magenta Toner": 7.0, "Yellow Toner": 60.0,
        "Drum Unit": 64.0,
    }
    assert levels["Magenta Toner"].label("color") == "magenta"
    filled = by_label(samples, "printer.supply.fill_percent", "supply")
    assert {name: s.value for name, s in filled.items()} == {"Waste Toner Box": 35.0}
    states = by_label(samples, "printer.supply.state", "supply")
    assert states["Transfer Belt Unit"].state == "unknown"
    assert states["Fuser Unit"].state == "some_remaining"
    assert states["Waste Toner Box"].state == "available"


def test_trays(recording):
    samples = tray_samples(decode_trays(recording("printer-mono-laser.snmprec")))
    states = {s.label("tray"): s.state for s in samples if s.name == "printer.tray.state"}
    assert states == {"Tray 1": "some_remaining", "MP Tray": "empty", "Tray 2": "available"}
    levels = by_label(samples, "printer.tray.level_percent", "tray")
    assert set(levels) == {"MP Tray", "Tray 2"}
    assert levels["Tray 2"].value == pytest.approx(59.62, abs=0.01)


def test_trays_carry_media(recording):
    trays = {t.name: t for t in decode_trays(recording("printer-colour-mfp.snmprec"))}
    assert trays["Cassette 2"].media == "A3"
    assert trays["MP Tray"].tray_type == "sheetFeedManual"


@pytest.mark.parametrize(
    ("name", "pages"),
    [("printer-mono-laser.snmprec", 48213), ("printer-colour-mfp.snmprec", 152347)],
)
def test_page_count(recording, name, pages):
    samples = page_count_samples(recording(name))
    assert [(s.name, s.value, s.unit, s.labels) for s in samples] == [
        ("printer.page_count", pages, "count", ()),
    ]


def test_a_life_count_in_other_units_is_not_a_page_count(recording):
    snapshot = recording("printer-mono-laser.snmprec").merged(
        [((1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 3, 1, 1), 17)]  # meters
    )
    [sample] = page_count_samples(snapshot)
    assert sample.name == "printer.marker.life_count"
    assert sample.label("counter_unit") == "meters"


def test_mono_laser_jam(recording):
    snapshot = recording("printer-mono-laser.snmprec")
    condition = printer_condition_samples(snapshot)
    assert [(s.name, s.state) for s in condition if s.state != "clear"] == [
        ("printer.status", "other"), ("printer.error", "jammed"),
    ]
    [alert] = alert_samples(decode_alerts(snapshot))
    assert alert.name == "printer.alert"
    assert alert.state == "jam"
    assert alert.label("severity") == "critical"
    assert alert.label("group") == "mediaPath"
    assert alert.label("description") == "Jam Tray 1"


def test_colour_mfp_toner_low_alert_names_the_supply(recording):
    snapshot = recording("printer-colour-mfp.snmprec")
    supplies = {s.index: s.description for s in decode_supplies(snapshot)}
    [alert] = alert_samples(decode_alerts(snapshot), supplies)
    assert alert.state == "markerTonerAlmostEmpty"
    assert alert.label("severity") == "warning"
    assert alert.label("group") == "markerSupplies"
    assert alert.label("subunit") == "Magenta Toner"
    condition = printer_condition_samples(snapshot)
    assert [(s.name, s.state) for s in condition if s.state != "clear"] == [
        ("printer.status", "idle"), ("printer.error", "low_toner"),
    ]


def test_every_known_condition_is_reported_so_a_cleared_one_can_be_seen(recording):
    snapshot = recording("printer-colour-mfp.snmprec").merged(
        [((1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 2, 1), b"\x00")]
    )
    errors = {s.label("condition"): s.state for s in printer_condition_samples(snapshot)
              if s.name == "printer.error"}
    assert errors["jammed"] == errors["low_toner"] == errors["door_open"] == "clear"
    assert set(errors.values()) == {"clear"}
    assert len(errors) == 15


def test_a_bit_beyond_the_known_conditions_is_reported_only_while_set(recording):
    snapshot = recording("printer-colour-mfp.snmprec").merged(
        [((1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 2, 1), b"\x00\x01")]  # bit 15
    )
    errors = {s.label("condition"): s.state for s in printer_condition_samples(snapshot)
              if s.name == "printer.error"}
    assert errors["bit15"] == "bit15"


def test_printer_identity(recording):
    identity = decode_printer_identity(recording("printer-colour-mfp.snmprec"))
    assert identity.serial == "VCF9Z12345"
    assert identity.model == "ECOSYS M6630cidn"


def test_duplicate_supply_descriptions_get_an_index_label(recording):
    snapshot = recording("printer-mono-laser.snmprec").merged(
        [((1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 6, 1, 2), b"Black Toner")]
    )
    samples = supply_samples(decode_supplies(snapshot))
    indexes = {s.label("index") for s in samples if s.name == "printer.supply.state"}
    assert indexes == {"1", "2"}
