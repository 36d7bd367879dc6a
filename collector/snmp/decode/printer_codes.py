"""Enumerations of the Printer-MIB (RFC 3805, IANA-PRINTER-MIB) and HOST-RESOURCES
printer objects, as the names samples carry."""

from __future__ import annotations

SUPPLY_TYPES: dict[int, str] = {
    1: "other", 2: "unknown", 3: "toner", 4: "wasteToner", 5: "ink", 6: "inkCartridge",
    7: "inkRibbon", 8: "wasteInk", 9: "opc", 10: "developer", 11: "fuserOil",
    12: "solidWax", 13: "ribbonWax", 14: "wasteWax", 15: "fuser", 16: "coronaWire",
    17: "fuserOilWick", 18: "cleanerUnit", 19: "fuserCleaningPad", 20: "transferUnit",
    21: "tonerCartridge", 22: "fuserOiler", 23: "water", 24: "wasteWater",
    25: "glueWaterAdditive", 26: "wastePaper", 27: "bindingSupply", 28: "bandingSupply",
    29: "stitchingWire", 30: "shrinkWrap", 31: "paperWrap", 32: "staples", 33: "inserts",
    34: "covers",
}

# prtMarkerSuppliesClass: 3 is consumed (level falls), 4 is a receptacle (level rises).
SUPPLY_CLASS_FILLED = 4

# prtMarkerCounterUnit values that count pages.
PAGE_COUNTER_UNITS: dict[int, str] = {7: "impressions", 8: "sheets"}

PRINTER_STATUS: dict[int, str] = {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}

# hrPrinterDetectedErrorState bit positions; bit 0 is the most significant bit of the
# first octet (RFC 2790 as amended by RFC 3805).
DETECTED_ERROR_BITS: tuple[str, ...] = (
    "low_paper", "no_paper", "low_toner", "no_toner", "door_open", "jammed", "offline",
    "service_requested", "input_tray_missing", "output_tray_missing",
    "marker_supply_missing", "output_near_full", "output_full", "input_tray_empty",
    "overdue_prevent_maint",
)

ALERT_SEVERITIES: dict[int, str] = {
    1: "other", 3: "critical", 4: "warning", 5: "warning_binary_change",
}

ALERT_GROUPS: dict[int, str] = {
    1: "other", 3: "hostResourcesMIBStorageTable", 4: "hostResourcesMIBDeviceTable",
    5: "generalPrinter", 6: "cover", 7: "localization", 8: "input", 9: "output",
    10: "marker", 11: "markerSupplies", 12: "markerColorant", 13: "mediaPath",
    14: "channel", 15: "interpreter", 16: "consoleDisplayBuffer", 17: "consoleLights",
    18: "alert", 30: "finDevice", 31: "finSupply", 32: "finSupplyMediaInput",
    33: "finAttribute",
}

ALERT_CODES: dict[int, str] = {
    1: "other", 2: "unknown", 3: "coverOpen", 4: "coverClosed", 5: "interlockOpen",
    6: "interlockClosed", 7: "configurationChange", 8: "jam", 9: "subunitMissing",
    10: "subunitLifeAlmostOver", 11: "subunitLifeOver", 12: "subunitAlmostEmpty",
    13: "subunitEmpty", 14: "subunitAlmostFull", 15: "subunitFull", 16: "subunitNearLimit",
    17: "subunitAtLimit", 18: "subunitOpened", 19: "subunitClosed", 20: "subunitTurnedOn",
    21: "subunitTurnedOff", 22: "subunitOffline", 23: "subunitPowerSaver",
    24: "subunitWarmingUp", 25: "subunitAdded", 26: "subunitRemoved",
    27: "subunitResourceAdded", 28: "subunitResourceRemoved",
    29: "subunitRecoverableFailure", 30: "subunitUnrecoverableFailure",
    31: "subunitRecoverableStorageError", 32: "subunitUnrecoverableStorageError",
    33: "subunitMotorFailure", 34: "subunitMemoryExhausted", 35: "subunitUnderTemperature",
    36: "subunitOverTemperature", 37: "subunitTimingFailure", 38: "subunitThermistorFailure",
    501: "doorOpen", 502: "doorClosed", 503: "powerUp", 504: "powerDown",
    505: "printerNMSReset", 506: "printerManualReset", 507: "printerReadyToPrint",
    801: "inputMediaTrayMissing", 802: "inputMediaSizeChange", 803: "inputMediaWeightChange",
    804: "inputMediaTypeChange", 805: "inputMediaColorChange",
    806: "inputMediaFormPartsChange", 807: "inputMediaSupplyLow",
    808: "inputMediaSupplyEmpty", 809: "inputMediaChangeRequest",
    810: "inputManualInputRequest", 811: "inputTrayPositionFailure",
    812: "inputTrayElevationFailure", 813: "inputCannotFeedSizeSelected",
    901: "outputMediaTrayMissing", 902: "outputMediaTrayAlmostFull",
    903: "outputMediaTrayFull", 904: "outputMailboxSelectFailure",
    1001: "markerFuserUnderTemperature", 1002: "markerFuserOverTemperature",
    1003: "markerFuserTimingFailure", 1004: "markerFuserThermistorFailure",
    1005: "markerAdjustingPrintQuality", 1101: "markerTonerEmpty", 1102: "markerInkEmpty",
    1103: "markerPrintRibbonEmpty", 1104: "markerTonerAlmostEmpty",
    1105: "markerInkAlmostEmpty", 1106: "markerPrintRibbonAlmostEmpty",
    1107: "markerWasteTonerReceptacleAlmostFull", 1108: "markerWasteInkReceptacleAlmostFull",
    1109: "markerWasteTonerReceptacleFull", 1110: "markerWasteInkReceptacleFull",
    1111: "markerOpcLifeAlmostOver", 1112: "markerOpcLifeOver",
    1113: "markerDeveloperAlmostEmpty", 1114: "markerDeveloperEmpty",
    1115: "markerTonerCartridgeMissing", 1301: "mediaPathMediaTrayMissing",
    1302: "mediaPathMediaTrayAlmostFull", 1303: "mediaPathMediaTrayFull",
    1304: "mediaPathCannotDuplexMediaSelected", 1501: "interpreterMemoryIncrease",
    1502: "interpreterMemoryDecrease", 1503: "interpreterCartridgeAdded",
    1504: "interpreterCartridgeDeleted", 1505: "interpreterResourceAdded",
    1506: "interpreterResourceDeleted", 1507: "interpreterResourceUnavailable",
    1509: "interpreterComplexPageEncountered", 1801: "alertRemovalOfBinaryChangeEntry",
}


def name_of(table: dict[int, str], code: int, prefix: str) -> str:
    """The enumeration name, or ``<prefix><code>`` for a value the table lacks."""
    return table.get(code, f"{prefix}{code}")

INPUT_TYPES: dict[int, str] = {
    1: "other", 2: "unknown", 3: "sheetFeedAutoRemovableTray",
    4: "sheetFeedAutoNonRemovableTray", 5: "sheetFeedManual", 6: "continuousRoll",
    7: "continuousFanFold",
}

MARKER_COUNTER_UNITS: dict[int, str] = {
    3: "tenThousandthsOfInches", 4: "micrometers", 5: "characters", 6: "lines",
    7: "impressions", 8: "sheets", 9: "dotRow", 11: "hours", 16: "feet", 17: "meters",
}

# Printer-MIB levels below zero are not amounts (RFC 3805, prtMarkerSuppliesLevel and
# prtInputCurrentLevel): -1 other (no restriction), -2 unknown, -3 "some remaining".
SPECIAL_LEVELS: dict[int, str] = {-1: "other", -2: "unknown", -3: "some_remaining"}
