"""`opsgraph poll | discover | traps` against real agents: net-snmp's snmpd (v3
authPriv), snmpsim on several loopback addresses, traps from `snmptrap`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from api.cli import main
from cmdb.connect import connect
from cmdb.store import CIQuery, IncidentQuery
from tests.integration.snmp.conftest import LAN_DEVICES
from tests.integration.snmp.test_snmp_traps import snmptrap_env

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "etc" / "snmp-rules.example.yaml"
ENGINE_ID = "0x8000000001020304"


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_v3_auth_priv_poll_through_the_cli(snmpd, tmp_path, monkeypatch, capsys):
    auth, auth_key, priv_key = snmpd.v3_users["opsgraph-sha256"]
    monkeypatch.setenv("TEST_SNMP_AUTH", auth_key)
    monkeypatch.setenv("TEST_SNMP_PRIV", priv_key)
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    code, out, err = run_cli(
        capsys, "--store", store, "poll", "127.0.0.1", "--port", snmpd.port,
        "--v3-user", "opsgraph-sha256", "--auth-protocol", auth,
        "--auth-key-env", "TEST_SNMP_AUTH", "--priv-key-env", "TEST_SNMP_PRIV",
        "--ingest", "--rules", RULES)
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["reachability"] == "reachable"
    assert result["inventory"]["ci_class"] == "Server"
    assert result["inventory"]["identity"]["fqdn"] == "testhost.example.org"
    assert auth_key not in out
    assert priv_key not in out
    opened = connect(store)
    try:
        assert opened.get_ci(result["ingest"]["ci_id"]).name == "testhost.example.org"
    finally:
        opened.close()


def test_a_wrong_v3_key_is_one_line_and_exit_1(snmpd, monkeypatch, capsys):
    monkeypatch.setenv("TEST_SNMP_AUTH", "not-the-auth-key")
    code, out, err = run_cli(
        capsys, "poll", "127.0.0.1", "--port", snmpd.port, "--v3-user", "opsgraph-sha",
        "--auth-key-env", "TEST_SNMP_AUTH", "--timeout", "1", "--retries", "0")
    assert code == 1
    assert err == f"opsgraph: 127.0.0.1:{snmpd.port}: wrong_digest: v3 security: " \
                  "Wrong SNMP PDU digest\n"
    assert json.loads(out)["reachability"] == "auth_failed"
    assert "not-the-auth-key" not in out + err


def test_credentials_that_cannot_be_used_are_a_config_error(capsys):
    code, _, err = run_cli(capsys, "poll", "127.0.0.1", "--v3-user", "u",
                           "--auth-key-env", "OPSGRAPH_TEST_UNSET_VARIABLE")
    assert code == 2
    assert err == "opsgraph: auth key variable OPSGRAPH_TEST_UNSET_VARIABLE is not set\n"


def test_discover_classifies_registers_and_writes_targets(snmpsim_lan, tmp_path, monkeypatch,
                                                          capsys):
    monkeypatch.setenv("TEST_LAN_COMMUNITY", snmpsim_lan.community)
    targets = tmp_path / "targets.yaml"
    store = f"sqlite:///{tmp_path / 'lan.db'}"
    code, out, err = run_cli(
        capsys, "--store", store, "discover", "127.0.0.0/29", "--port", snmpsim_lan.port,
        "--community-env", "TEST_LAN_COMMUNITY", "--timeout", "0.3", "--concurrency", "4",
        "--write-targets", targets, "--register", "--rules", RULES)
    assert code == 0, err
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines()[1:4]}
    assert rows == {
        f"127.0.0.2:{snmpsim_lan.port}": ["printer", "BRN3C2AF4E1D2B0"],
        f"127.0.0.3:{snmpsim_lan.port}": ["network_device", "acc-sw-3f.example.org"],
        f"127.0.0.5:{snmpsim_lan.port}": ["printer", "KM6630-3F-EAST"],
    }
    assert "3 of 6 endpoints answered: 1 network_device, 2 printer" in out
    assert "no answer: 3 timeout" in out
    assert "discover [" in err
    assert "6/6 asked, 3 answered" in err
    written = targets.read_text()
    assert snmpsim_lan.community not in written
    document = yaml.safe_load(written)
    assert document["credentials"] == {
        "discovered-v2c": {"version": "2c", "community_env": "TEST_LAN_COMMUNITY"}}
    assert {t["address"]: t["kind"] for t in document["targets"]} == {
        address: "printer" if "printer" in name else "network_device"
        for address, name in LAN_DEVICES.items()}
    opened = connect(store)
    try:
        cis = opened.list_cis(CIQuery()).items
        assert sorted(ci.ci_class for ci in cis) == ["NetworkDevice", "Printer", "Printer"]
        switch = next(ci for ci in cis if ci.ci_class == "NetworkDevice")
        mono = opened.ci_for_key("serial:E78123A9N456789")
        assert [(r.from_id, r.properties["port"]) for r in opened.relationships(switch.id)
                ] == [(mono, "Gi1/0/5")]  # registered before the switch, so linked
        jams = opened.list_incidents(IncidentQuery(state="open", ci_id=mono)).items
        assert [i.rule for i in jams] == ["printer-jammed"]
    finally:
        opened.close()
    # the written file is enough to poll a device again
    code, out, _ = run_cli(capsys, "poll", "127.0.0.3", "--port", snmpsim_lan.port,
                           "--targets", targets)
    assert code == 0
    assert json.loads(out)["inventory"]["attributes"]["sys_name"] == "acc-sw-3f.example.org"


@pytest.mark.parametrize("level", ["authPriv"])
def test_v3_traps_through_the_cli_land_on_the_polled_device(
        snmpd, snmptrap, tmp_path, monkeypatch, capsys, level):
    auth, auth_key, priv_key = snmpd.v3_users["opsgraph-sha"]
    env = {"TEST_SNMP_AUTH": auth_key, "TEST_SNMP_PRIV": priv_key}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    store = f"sqlite:///{tmp_path / 'traps.db'}"
    v3 = ["--v3-user", "opsgraph-sha", "--auth-key-env", "TEST_SNMP_AUTH",
          "--priv-key-env", "TEST_SNMP_PRIV"]
    code, out, _ = run_cli(capsys, "--store", store, "poll", "127.0.0.1", "--port", snmpd.port,
                           *v3, "--ingest", "--rules", RULES)
    assert code == 0
    ci_id = json.loads(out)["ingest"]["ci_id"]
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"targets": [
        {"address": "127.0.0.1", "port": snmpd.port, "sys_name": "testhost.example.org"}]}))
    receiver = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--store", store, "traps", "--port", "0", *v3,
         "--engine-id", ENGINE_ID, "--targets", str(targets), "--rules", str(RULES),
         "--count", "1", "--duration", "20"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        ready = receiver.stderr.readline()
        assert ready.startswith("opsgraph: receiving traps on 127.0.0.1:"), ready
        port = ready.rsplit(":", 1)[1].strip()
        subprocess.run(
            [snmptrap, "-v", "3", "-e", ENGINE_ID, "-u", "opsgraph-sha", "-l", level,
             "-a", auth, "-A", auth_key, "-x", "AES", "-X", priv_key, f"127.0.0.1:{port}", "",
             "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.2", "i", "2"],
            env=snmptrap_env(tmp_path), check=True, timeout=10, capture_output=True)
        out, err = receiver.communicate(timeout=20)
    finally:
        receiver.kill()
    assert receiver.returncode == 0, err
    [line] = out.splitlines()
    event = json.loads(line)
    assert (event["trap"], event["ci_id"], event["sender"]) == ("linkDown", ci_id, "127.0.0.1")
    assert event["observations"]["interface.oper_status"] == "down"
    assert auth_key not in out + err
