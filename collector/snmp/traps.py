"""SNMP notifications as observations (pure): what a trap says, about which port.

A received trap (v1 traps arrive converted to the v2 form, RFC 3584) is reduced to
a `Trap`: its name, the ifIndex or printer alert it concerns, and the original
sender (``snmpTrapAddress.0`` when a proxy forwarded it). `trap_observations` turns
it into the same observations the poller makes, so one set of rules covers both:

========================  =============================================================
trap                      observations
========================  =============================================================
linkDown / linkUp         ``interface.oper_status`` (``down``/``up``, or the
                          ifOperStatus the trap carries) labelled ``interface``
                          (ifName) and ``if_index``
printerV2Alert            ``printer.alert`` (state = alert code) and, for jams, paper,
                          covers and toner, ``printer.error{condition}`` as a poll
                          would report it
coldStart, warmStart,     nothing but the one below
authenticationFailure
every trap                ``snmp.trap`` with state and label ``trap`` = its name
========================  =============================================================

A printer alert only ever raises a condition: a trap is not sent when it clears, so
the next poll's ``printer.error ... clear`` resolves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from collector.observation import Observation
from collector.snmp import oids
from collector.snmp.decode.interfaces import IF_STATUS
from collector.snmp.decode.printer_codes import (
    ALERT_CODES,
    ALERT_GROUPS,
    ALERT_SEVERITIES,
    name_of,
)
from collector.snmp.model import SOURCE
from collector.snmp.oids import Oid, parse_oid
from collector.snmp.snapshot import SnmpValue, VarBind, display_text

SNMP_TRAP_OID: Oid = parse_oid("1.3.6.1.6.3.1.1.4.1.0")
SNMP_TRAP_ADDRESS: Oid = parse_oid("1.3.6.1.6.3.18.1.3.0")
SYS_UPTIME: Oid = oids.SYS_UPTIME
_IF_INDEX: Oid = parse_oid("1.3.6.1.2.1.2.2.1.1")

TRAP_NAMES: dict[Oid, str] = {
    parse_oid("1.3.6.1.6.3.1.1.5.1"): "coldStart",
    parse_oid("1.3.6.1.6.3.1.1.5.2"): "warmStart",
    parse_oid("1.3.6.1.6.3.1.1.5.3"): "linkDown",
    parse_oid("1.3.6.1.6.3.1.1.5.4"): "linkUp",
    parse_oid("1.3.6.1.6.3.1.1.5.5"): "authenticationFailure",
    # RFC 3805: printerV2Alert ::= { printerV2AlertPrefix 1 }, prefix = prtAlert 0
    parse_oid("1.3.6.1.2.1.43.18.0.1"): "printerV2Alert",
}
TRAP_METRIC = "snmp.trap"

# prtAlertCode -> the hrPrinterDetectedErrorState condition a poll would show.
_ALERT_CONDITIONS: dict[str, str] = {
    "jam": "jammed", "coverOpen": "door_open", "doorOpen": "door_open",
    "interlockOpen": "door_open", "inputMediaSupplyEmpty": "no_paper",
    "inputMediaSupplyLow": "low_paper", "markerTonerEmpty": "no_toner",
    "markerTonerAlmostEmpty": "low_toner", "inputMediaTrayMissing": "input_tray_missing",
    "outputMediaTrayFull": "output_full",
}


@dataclass(frozen=True, slots=True)
class Trap:
    """One notification, decoded. `sender` is the address the CI is looked up by."""

    sender: str
    name: str
    trap_oid: Oid | None
    uptime_seconds: float | None
    varbinds: tuple[VarBind, ...]

    def value(self, column: Oid) -> SnmpValue | None:
        """The first varbind under `column` (an instance of that column)."""
        width = len(column)
        return next((v for o, v in self.varbinds if o[:width] == column and len(o) > width),
                    None)

    def if_index(self) -> int | None:
        value = self.value(_IF_INDEX)
        if isinstance(value, int):
            return value
        for column in (oids.IF_OPER_STATUS, oids.IF_ADMIN_STATUS, oids.IF_NAME, oids.IF_DESCR):
            oid = next((o for o, _ in self.varbinds if o[:len(column)] == column), None)
            if oid is not None and len(oid) == len(column) + 1:
                return oid[-1]
        return None


def decode_trap(source_address: str, varbinds: Sequence[VarBind]) -> Trap:
    """A `Trap` from the varbinds of a v2 notification (or a converted v1 trap)."""
    trap_oid: Oid | None = None
    uptime: float | None = None
    sender = source_address
    for oid, value in varbinds:
        if oid == SNMP_TRAP_OID and isinstance(value, tuple):
            trap_oid = value
        elif oid == SYS_UPTIME and isinstance(value, int):
            uptime = value / 100.0
        elif oid == SNMP_TRAP_ADDRESS and isinstance(value, bytes) and len(value) == 4:
            sender = ".".join(str(octet) for octet in value)
    name = TRAP_NAMES.get(trap_oid, "") if trap_oid else ""
    if not name:
        name = ".".join(str(p) for p in trap_oid) if trap_oid else "unknown"
    return Trap(sender, name, trap_oid, uptime, tuple(varbinds))


def trap_observations(trap: Trap, ci_id: str, at: datetime,
                      port_names: Mapping[int, str] | None = None) -> list[Observation]:
    """What `trap` says about CI `ci_id`, as observations at `at`. `port_names`
    (ifIndex -> ifName, from the CI's ``ports``) names the port when the trap does
    not carry ifName itself, so trap and poll fingerprints agree."""
    observed = [_observation(ci_id, at, TRAP_METRIC, trap.name, {"trap": trap.name})]
    if trap.name in ("linkDown", "linkUp"):
        observed += _link(trap, ci_id, at, port_names or {})
    elif trap.name == "printerV2Alert":
        observed += _printer_alert(trap, ci_id, at)
    return observed


def _link(trap: Trap, ci_id: str, at: datetime, port_names: Mapping[int, str]
          ) -> list[Observation]:
    if_index = trap.if_index()
    name = trap.value(oids.IF_NAME)
    if isinstance(name, bytes) and display_text(name):
        port = display_text(name)
    elif if_index is not None and if_index in port_names:
        port = port_names[if_index]
    else:
        descr = trap.value(oids.IF_DESCR)
        port = display_text(descr) if isinstance(descr, bytes) and descr else (
            f"if{if_index}" if if_index is not None else "")
    if not port:
        return []
    oper = trap.value(oids.IF_OPER_STATUS)
    state = IF_STATUS.get(oper, "unknown") if isinstance(oper, int) else (
        "down" if trap.name == "linkDown" else "up")
    labels = {"interface": port}
    if if_index is not None:
        labels["if_index"] = str(if_index)
    return [_observation(ci_id, at, "interface.oper_status", state, labels)]


def _printer_alert(trap: Trap, ci_id: str, at: datetime) -> list[Observation]:
    code_value = trap.value(oids.PRT_ALERT_CODE)
    if not isinstance(code_value, int):
        return []
    code = name_of(ALERT_CODES, code_value, "code")
    labels = {"code": code}
    severity = trap.value(oids.PRT_ALERT_SEVERITY_LEVEL)
    if isinstance(severity, int):
        labels["severity"] = name_of(ALERT_SEVERITIES, severity, "severity")
    group = trap.value(oids.PRT_ALERT_GROUP)
    if isinstance(group, int):
        labels["group"] = name_of(ALERT_GROUPS, group, "group")
    description = trap.value(oids.PRT_ALERT_DESCRIPTION)
    if isinstance(description, bytes) and display_text(description):
        labels["description"] = display_text(description)
    observed = [_observation(ci_id, at, "printer.alert", code, labels)]
    condition = _ALERT_CONDITIONS.get(code)
    if condition is not None:
        observed.append(_observation(ci_id, at, "printer.error", condition,
                                     {"condition": condition}))
    return observed


def _observation(ci_id: str, at: datetime, name: str, state: str,
                 labels: Mapping[str, str]) -> Observation:
    return Observation(ci_id=ci_id, name=name, observed_at=at, source=SOURCE, state=state,
                       labels=tuple(sorted(labels.items())))


def port_names(attributes: Mapping[str, object]) -> dict[int, str]:
    """ifIndex -> port name from a CI's ``ports`` attribute (set by polls)."""
    ports = attributes.get("ports")
    if not isinstance(ports, list):
        return {}
    return {p["if_index"]: str(p.get("name")) for p in ports
            if isinstance(p, dict) and isinstance(p.get("if_index"), int)}
