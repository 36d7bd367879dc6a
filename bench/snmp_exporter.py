"""Debian's `prometheus-snmp-exporter` (Go, 0.21) on the same recordings as the poller.

`exporter_config` writes an snmp.yml (0.21 format: auth inside each module) whose
modules ask what the poller's plans ask — the system group and the printer's or the
switch's columns — so both read the same objects from the same simulator.
`measure_exporter` starts the exporter on a free port, scrapes each module N times
over HTTP and reads the exporter's own CPU (utime + stime) from /proc/<pid>/stat.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from collector.snmp import oids
from collector.snmp.oids import Oid, format_oid

BINARY = "prometheus-snmp-exporter"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# (column, prometheus type, index label types)
Column = tuple[Oid, str, tuple[str, ...]]
_IF: tuple[str, ...] = ("gauge",)
_PRT: tuple[str, ...] = ("gauge", "gauge")

PRINTER_COLUMNS: tuple[Column, ...] = (
    (oids.HR_PRINTER_STATUS, "gauge", _IF),
    (oids.HR_PRINTER_DETECTED_ERROR_STATE, "OctetString", _IF),
    (oids.IF_TYPE, "gauge", _IF),
    (oids.IF_PHYS_ADDRESS, "PhysAddress48", _IF),
    (oids.PRT_MARKER_COUNTER_UNIT, "gauge", _PRT),
    (oids.PRT_MARKER_LIFE_COUNT, "counter", _PRT),
    *((column, "gauge", _PRT) for column in (
        oids.PRT_ALERT_SEVERITY_LEVEL, oids.PRT_ALERT_GROUP, oids.PRT_ALERT_GROUP_INDEX,
        oids.PRT_ALERT_LOCATION, oids.PRT_ALERT_CODE)),
    (oids.PRT_ALERT_DESCRIPTION, "DisplayString", _PRT),
    *((column, "gauge", _PRT) for column in (
        oids.PRT_MARKER_SUPPLIES_COLORANT_INDEX, oids.PRT_MARKER_SUPPLIES_CLASS,
        oids.PRT_MARKER_SUPPLIES_TYPE, oids.PRT_MARKER_SUPPLIES_MAX_CAPACITY,
        oids.PRT_MARKER_SUPPLIES_LEVEL)),
    (oids.PRT_MARKER_SUPPLIES_DESCRIPTION, "DisplayString", _PRT),
    (oids.PRT_MARKER_COLORANT_VALUE, "DisplayString", _PRT),
    *((column, "gauge", _PRT) for column in (
        oids.PRT_INPUT_TYPE, oids.PRT_INPUT_MAX_CAPACITY, oids.PRT_INPUT_CURRENT_LEVEL)),
    *((column, "DisplayString", _PRT) for column in (
        oids.PRT_INPUT_MEDIA_NAME, oids.PRT_INPUT_NAME, oids.PRT_INPUT_DESCRIPTION)),
)
PRINTER_GETS: tuple[Oid, ...] = (
    (*oids.PRT_GENERAL_SERIAL_NUMBER, 1), (*oids.PRT_GENERAL_PRINTER_NAME, 1),
    (*oids.HR_DEVICE_DESCR, 1),
)
SWITCH_COLUMNS: tuple[Column, ...] = (
    (oids.ENT_PHYSICAL_CLASS, "gauge", _IF),
    (oids.IF_DESCR, "DisplayString", _IF),
    (oids.IF_TYPE, "gauge", _IF),
    (oids.IF_ADMIN_STATUS, "gauge", _IF),
    (oids.IF_OPER_STATUS, "gauge", _IF),
    (oids.IF_IN_ERRORS, "counter", _IF),
    (oids.IF_OUT_ERRORS, "counter", _IF),
    (oids.IF_NAME, "DisplayString", _IF),
    (oids.IF_HC_IN_OCTETS, "counter", _IF),
    (oids.IF_HC_OUT_OCTETS, "counter", _IF),
    (oids.IF_HIGH_SPEED, "gauge", _IF),
    (oids.IF_ALIAS, "DisplayString", _IF),
    (oids.DOT1D_BASE_PORT_IF_INDEX, "gauge", _IF),
    (oids.DOT1Q_TP_FDB_PORT, "gauge", ("gauge", "PhysAddress48")),
    (oids.DOT1Q_TP_FDB_STATUS, "gauge", ("gauge", "PhysAddress48")),
    (oids.DOT1D_TP_FDB_PORT, "gauge", ("PhysAddress48",)),
    (oids.DOT1D_TP_FDB_STATUS, "gauge", ("PhysAddress48",)),
    (oids.LLDP_REM_CHASSIS_ID_SUBTYPE, "gauge", ("gauge", "gauge", "gauge")),
    (oids.LLDP_REM_CHASSIS_ID, "OctetString", ("gauge", "gauge", "gauge")),
    (oids.LLDP_REM_PORT_ID_SUBTYPE, "gauge", ("gauge", "gauge", "gauge")),
    (oids.LLDP_REM_PORT_ID, "OctetString", ("gauge", "gauge", "gauge")),
    (oids.LLDP_REM_PORT_DESC, "DisplayString", ("gauge", "gauge", "gauge")),
    (oids.LLDP_REM_SYS_NAME, "DisplayString", ("gauge", "gauge", "gauge")),
)
SWITCH_GETS: tuple[Oid, ...] = (
    oids.DOT1D_BASE_BRIDGE_ADDRESS,
    *((*column, 1001) for column in (oids.ENT_PHYSICAL_SOFTWARE_REV, oids.ENT_PHYSICAL_SERIAL,
                                      oids.ENT_PHYSICAL_MFG_NAME, oids.ENT_PHYSICAL_MODEL_NAME)),
)


def _metric(name: str, column: Oid, kind: str, indexes: tuple[str, ...]) -> dict[str, Any]:
    metric: dict[str, Any] = {"name": name, "oid": format_oid(column), "type": kind}
    if indexes:
        metric["indexes"] = [{"labelname": f"{name}_i{n}", "type": t}
                             for n, t in enumerate(indexes)]
    return metric


def _module(community: str, columns: tuple[Column, ...], gets: tuple[Oid, ...]
            ) -> dict[str, Any]:
    scalars = (*oids.SYSTEM_GROUP, *gets)
    metrics = [_metric(f"s{n}", oid[:-1], "OctetString" if oid != oids.SYS_UPTIME else "gauge",
                       ()) for n, oid in enumerate(scalars)]
    metrics += [_metric(f"c{n}", column, kind, indexes)
                for n, (column, kind, indexes) in enumerate(columns)]
    return {
        "get": [format_oid(oid) for oid in scalars],
        "walk": [format_oid(column) for column, _, _ in columns],
        "metrics": metrics,
        "version": 2,
        "max_repetitions": 25,
        "retries": 1,
        "timeout": "5s",
        "auth": {"community": community},
    }


def exporter_config(path: Path) -> dict[str, str]:
    """Write snmp.yml for the three benchmark recordings; module name -> recording."""
    modules = {
        "printer_mono": ("printer-mono-laser", PRINTER_COLUMNS, PRINTER_GETS),
        "printer_colour": ("printer-colour-mfp", PRINTER_COLUMNS, PRINTER_GETS),
        "switch": ("switch-48-port", SWITCH_COLUMNS, SWITCH_GETS),
    }
    document = {name: _module(community, columns, gets)
                for name, (community, columns, gets) in modules.items()}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return {name: community for name, (community, _, _) in modules.items()}


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of `pid`, from /proc/<pid>/stat (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure_exporter(simulator_port: int, workdir: Path, scrapes: int
                     ) -> dict[str, object] | None:
    """CPU the exporter spends per scrape of each module; None if it is not installed."""
    binary = shutil.which(BINARY)
    if binary is None:
        return None
    config = workdir / "snmp.yml"
    modules = exporter_config(config)
    port = _free_tcp_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
         "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                                 check=False).stderr.splitlines()[0]
        _wait_http(f"http://127.0.0.1:{port}/", 15)
        figures: dict[str, object] = {"version": version, "scrapes": scrapes}
        for module, recording in modules.items():
            url = (f"http://127.0.0.1:{port}/snmp?target=127.0.0.1:{simulator_port}"
                   f"&module={module}")
            body = _scrape(url)  # warm-up, and a check that it answered
            samples = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
            cpu, wall = process_cpu_seconds(process.pid), time.perf_counter()
            for _ in range(scrapes):
                _scrape(url)
            cpu, wall = process_cpu_seconds(process.pid) - cpu, time.perf_counter() - wall
            figures[recording] = {
                "cpu_ms_per_scrape": round(1000 * cpu / scrapes, 2),
                "wall_ms_per_scrape": round(1000 * wall / scrapes, 2),
                "samples": samples,
                "snmp_error": "snmp_scrape_pdus_returned" not in body,
            }
        return figures
    finally:
        process.terminate()
        process.wait(timeout=10)


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode())


def _wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            _scrape(url)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("prometheus-snmp-exporter did not start")
