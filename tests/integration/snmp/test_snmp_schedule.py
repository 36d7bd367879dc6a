"""`opsgraph poller` against snmpsim: two cycles a second apart over a printer and a
port nothing answers on, into SQLite through the example SNMP rules, with its
health endpoints up; then a stop request ends it."""

from __future__ import annotations

import argparse
import asyncio
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from api.cli_poller import run_poller
from api.settings import load_settings
from cmdb.connect import connect
from cmdb.store import CIQuery, IncidentQuery
from collector.snmp.ingest import SnmpIngest
from collector.snmp.schedule import parse_interval
from collector.snmp.targets import load_targets
from rules.book import RuleBook

from .conftest import Agent

RULES = Path(__file__).resolve().parents[3] / "etc" / "snmp-rules.example.yaml"
MFP_NAME = "KM6630-3F-EAST"
LASER_SERIAL = "serial:E78123A9N456789"


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fast_clock(speed: float) -> Callable[[], datetime]:
    """Wall time running `speed` times faster, so the unreachable rule's 2-minute
    hold passes between two cycles a second apart."""
    start, started = datetime.now(UTC), time.monotonic()
    return lambda: start + timedelta(seconds=(time.monotonic() - started) * speed)


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#"))


def test_the_poller_polls_on_schedule_without_duplicates_and_stops(
        snmpsim: Agent, polled: dict[str, Any], unused_udp_port: int, tmp_path: Path) -> None:
    port = free_tcp_port()
    settings = load_settings(None, store_url=f"sqlite:///{tmp_path / 'opsgraph.db'}",
                             listen_host="127.0.0.1", listen_port=port, rules_file=RULES)
    clock = fast_clock(300)
    store = connect(settings.store_url)
    # The silent device answered once before (as discovery would have seen it).
    known = SnmpIngest(store, RuleBook.from_file(RULES), clock).ingest(
        polled["printer-colour-mfp"])
    assert known.ci_id is not None
    before = store.get_ci(known.ci_id)
    assert before is not None
    targets_file = tmp_path / "snmp.yaml"
    targets_file.write_text(yaml.safe_dump({
        "defaults": {"timeout": 0.3, "retries": 0},
        "credentials": {
            "laser": {"version": "2c", "community_env": "TEST_LASER_COMMUNITY"},
            "mfp": {"version": "2c", "community_env": "TEST_MFP_COMMUNITY"},
        },
        "targets": [
            {"address": snmpsim.host, "port": snmpsim.port, "credentials": "laser"},
            {"address": "127.0.0.1", "port": unused_udp_port, "credentials": "mfp",
             "kind": "printer", "sys_name": MFP_NAME},
        ],
    }))
    environ = {"TEST_LASER_COMMUNITY": "printer-mono-laser",
               "TEST_MFP_COMMUNITY": "printer-colour-mfp"}
    args = argparse.Namespace(interval="1s", concurrency=8, traps_port=None)
    base = f"http://127.0.0.1:{port}"

    async def two_cycles() -> tuple[str, int, int]:
        stop = asyncio.Event()
        running = asyncio.create_task(
            run_poller(args, settings, load_targets(targets_file), environ, stop, clock))
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            deadline = time.monotonic() + 10
            text = ""
            while metric(text, "opsgraph_snmp_cycles_total") < 2:
                assert time.monotonic() < deadline, f"no two cycles in 10 s:\n{text}"
                assert not running.done(), running.result()
                await asyncio.sleep(0.1)
                try:
                    text = (await client.get("/metrics")).text
                except httpx.TransportError:
                    continue  # the server is still starting
            alive = (await client.get("/healthz")).status_code
            ready = (await client.get("/readyz")).status_code
        stop.set()
        await asyncio.wait_for(running, timeout=5)
        return text, alive, ready

    started = time.monotonic()
    metrics, alive, ready = asyncio.run(two_cycles())
    assert time.monotonic() - started < 15
    assert (alive, ready) == (200, 200)
    assert metric(metrics, 'opsgraph_snmp_polls_total{outcome="reachable"}') >= 2
    assert metric(metrics, 'opsgraph_snmp_polls_total{outcome="unreachable"}') >= 2
    assert metric(metrics, "opsgraph_snmp_cycle_seconds_count") >= 2
    assert metric(metrics, "opsgraph_snmp_ingest_failures_total") == 0

    # One CI for the laser and one jam incident, after two or more polls of it.
    laser_id = store.ci_for_key(LASER_SERIAL)
    assert laser_id is not None
    printers = store.list_cis(CIQuery(ci_class="Printer")).items
    assert sorted(ci.id for ci in printers) == sorted([known.ci_id, laser_id])
    assert [i.rule for i in store.list_incidents(IncidentQuery(ci_id=laser_id)).items] == [
        "printer-jammed"]
    assert len(store.list_incidents(IncidentQuery(ci_id=laser_id, state="open")).items) == 1

    after = store.get_ci(known.ci_id)
    assert after is not None
    assert (after.attributes, after.last_seen, after.status) == (
        before.attributes, before.last_seen, before.status)
    [silent] = [i for i in store.list_incidents(IncidentQuery(ci_id=known.ci_id)).items
                if i.rule == "snmp-device-unreachable"]
    assert silent.summary == f"{MFP_NAME}: not answering SNMP (timeout)"
    # Its toner incident (from the poll it answered) stays as it was: nothing cleared it.
    assert sorted(i.rule for i in store.list_incidents(
        IncidentQuery(ci_id=known.ci_id, state="open")).items) == [
        "printer-toner-low", "snmp-device-unreachable"]
    store.close()


def test_an_interval_reads_with_or_without_a_unit() -> None:
    assert [parse_interval(t) for t in ("60", "60s", "1.5m", "500ms", "1h")] == [
        60, 60, 90, 0.5, 3600]
    for bad in ("0s", "-1", "soon", "1d"):
        with pytest.raises(ValueError, match="interval"):
            parse_interval(bad)
