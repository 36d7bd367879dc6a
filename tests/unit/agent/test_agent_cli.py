"""`opsgraph-agent` as a user runs it: exit codes, one-line errors, real inventory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from agent_collector import LocalCollector

from agent.cli import main
from agent.interfaces import interface_included
from tests.conftest import require_service


def agent_command() -> list[str]:
    script = Path(sys.executable).with_name("opsgraph-agent")
    return [str(script)] if script.exists() else [sys.executable, "-m", "agent"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGRAPH_AGENT_")}
    env.update(extra)
    return env


def run_agent(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*agent_command(), *args], capture_output=True, text=True, timeout=60,
        env=clean_env(**(env or {})),
    )


def assert_one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_bad_config_file_exits_2_with_one_line_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text("interval_seconds: often\n")
    result = run_agent("--config", str(config), "inventory")
    assert result.returncode == 2
    assert_one_line_error(result.stderr)
    assert "interval_seconds" in result.stderr


def test_sending_without_a_token_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--server", "http://127.0.0.1:9", "--spool", str(tmp_path / "s.db"), "once"])
    assert code == 2
    err = capsys.readouterr().err
    assert_one_line_error(err)
    assert "token" in err


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["fly"])
    assert caught.value.code == 2
    assert_one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize("options_after_command", [False, True])
def test_status_without_a_spool_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options_after_command: bool
) -> None:
    options = ["--spool", str(tmp_path / "none.db")]
    argv = ["status", *options] if options_after_command else [*options, "status"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert_one_line_error(err)
    assert "none.db" in err


def ip_addresses() -> dict[str, tuple[str | None, set[str]]]:
    """Interface -> (MAC, IPv4 addresses) as `ip -j addr` reports them."""
    found = {}
    for link in json.loads(subprocess.run(
        ["ip", "-j", "addr"], capture_output=True, text=True, check=True
    ).stdout):
        if link.get("link_type") == "loopback" or not interface_included(link["ifname"]):
            continue
        mac = link.get("address")
        ipv4 = {a["local"] for a in link.get("addr_info", []) if a.get("family") == "inet"}
        found[link["ifname"]] = (None if mac in (None, "00:00:00:00:00:00") else mac, ipv4)
    return found


def test_inventory_on_this_machine_matches_the_kernel() -> None:
    result = run_agent("inventory")
    assert result.returncode == 0, result.stderr
    inventory: dict[str, Any] = json.loads(result.stdout)
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = next(int(line.split()[1]) for line in meminfo.splitlines()
                   if line.startswith("MemTotal:"))
    assert inventory["memory_bytes"] == mem_kib * 1024
    assert inventory["cpu"]["threads"] == os.cpu_count()
    if shutil.which("ip") is None:
        require_service("the `ip` command", "apt-get install iproute2", "not on PATH")
    nics = {nic["name"]: (nic.get("mac"), set(nic["ipv4"])) for nic in inventory["nics"]}
    assert nics == ip_addresses()


def test_once_delivers_a_primed_report_with_inventory(tmp_path: Path) -> None:
    spool = str(tmp_path / "spool.db")
    with LocalCollector() as collector:
        result = run_agent("--server", collector.url, "--spool", spool, "--agent-id", "pc-0042",
                           "once", env={"OPSGRAPH_AGENT_TOKEN": "tok-123"})
    assert result.returncode == 0, result.stderr
    [report] = collector.stored.values()
    assert report["agent_id"] == "pc-0042"
    assert "inventory" in report
    names = {metric["name"] for metric in report["metrics"]}
    assert {"host.cpu.utilization", "host.memory.used", "host.uptime"} <= names


def test_once_keeps_the_report_when_the_collector_is_down_and_sends_it_later(
    tmp_path: Path,
) -> None:
    spool = str(tmp_path / "spool.db")
    with LocalCollector() as collector:
        url = collector.url
    env = {"OPSGRAPH_AGENT_TOKEN": "tok-123", "OPSGRAPH_AGENT_BACKOFF_MAX_SECONDS": "0.2",
           "OPSGRAPH_AGENT_BACKOFF_INITIAL_SECONDS": "0.1"}
    down = run_agent("--server", url, "--spool", spool, "once", env=env)
    assert down.returncode == 1
    assert "kept in the spool" in down.stderr
    assert "Traceback" not in down.stderr
    status = run_agent("--spool", spool, "status", "--json")
    assert json.loads(status.stdout)["depth"] == 1
    with LocalCollector() as collector:
        up = run_agent("--server", collector.url, "--spool", spool, "once", env=env)
    assert up.returncode == 0, up.stderr
    assert len(collector.stored) == 2  # the earlier report too, oldest first
    first, second = collector.stored.values()
    assert first["collected_at"] <= second["collected_at"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_serves_metrics_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    spool, port = str(tmp_path / "spool.db"), free_port()
    with LocalCollector() as collector:
        process = subprocess.Popen(
            [*agent_command(), "--server", collector.url, "--spool", spool, "--interval", "0.2",
             "run"],
            env=clean_env(OPSGRAPH_AGENT_TOKEN="tok-123",
                          OPSGRAPH_AGENT_METRICS_LISTEN=f"127.0.0.1:{port}"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 20
            while len(collector.stored) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
                metrics = page.read().decode()
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert len(collector.stored) >= 3
    assert "opsgraph_host_memory_used_percent" in metrics
    assert "opsgraph_agent_delivered_reports_total" in metrics
    status = json.loads(run_agent("--spool", spool, "status", "--json").stdout)
    assert status["delivered_reports"] + status["depth"] == len(collector.received)
