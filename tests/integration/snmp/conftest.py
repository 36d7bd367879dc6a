"""Real SNMP agents for the poller's integration tests.

* `snmpd`: net-snmp's agent (Debian package ``snmpd``) in the foreground on
  127.0.0.1 and a free port, with its persistent state in a temporary directory, a
  v2c community, a view-restricted community and two v3 authPriv users
  (SHA + AES-128 and SHA-256 + AES-128).
* `snmpsim`: ``snmpsim-command-responder`` (PyPI ``snmpsim``) serving the
  ``.snmprec`` recordings in tests/data/snmp/; each recording is a v2c community
  named after its file.

A missing binary fails the test when ``CI=true`` and skips it elsewhere, saying how
to install it. Readiness is checked with a hand-built SNMPv2c GET, so a fault in the
poller can never pass for an agent that did not start.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "snmp"
COMMUNITY = "opsgraph-ro"
RESTRICTED_COMMUNITY = "opsgraph-hr-only"
V3_USERS = {
    # user: (auth protocol for net-snmp, auth key, privacy key)
    "opsgraph-sha": ("SHA", "auth-key-sha-1", "priv-key-sha-1"),
    "opsgraph-sha256": ("SHA-256", "auth-key-sha256-1", "priv-key-sha256-1"),
}


@dataclass(frozen=True)
class Agent:
    """Where an agent listens and which credentials it was configured with."""

    host: str
    port: int
    community: str = ""
    restricted_community: str = ""
    v3_users: dict[str, tuple[str, str, str]] = field(default_factory=dict)


def _missing(what: str, how: str) -> None:
    message = f"{what} is not installed; {how}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _binary(name: str, *extra_dirs: str) -> str | None:
    path = shutil.which(name)
    if path:
        return path
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tlv(tag: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([tag, len(body)]) + body


def v2c_get_sysuptime(community: str) -> bytes:
    """A minimal SNMPv2c GetRequest for sysUpTime.0, BER-encoded by hand."""
    oid = bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])
    varbind = _tlv(0x30, _tlv(0x06, oid) + b"\x05\x00")
    pdu = _tlv(0xA0, _tlv(0x02, b"\x01") + _tlv(0x02, b"\x00") + _tlv(0x02, b"\x00")
               + _tlv(0x30, varbind))
    return _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x04, community.encode()) + pdu)


def wait_until_answering(process: subprocess.Popen[bytes], port: int, community: str,
                         log: Path, timeout: float, host: str = "127.0.0.1") -> None:
    request = v2c_get_sysuptime(community)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"agent exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            sock.sendto(request, (host, port))
            try:
                sock.recvfrom(4096)
                return
            except TimeoutError:
                continue
    stop(process)
    pytest.fail(f"agent on port {port} did not answer in {timeout}s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def snmpd_config() -> str:
    lines = [
        f"rocommunity {COMMUNITY} 127.0.0.1",
        # sees HOST-RESOURCES hrSystem only, not even the system group
        f"rocommunity {RESTRICTED_COMMUNITY} 127.0.0.1 .1.3.6.1.2.1.25.1",
        "sysLocation Lab rack 4",
        "sysContact ops@example.org",
        "sysName testhost.example.org",
        "sysServices 72",
    ]
    for user, (auth, auth_key, priv_key) in V3_USERS.items():
        lines.append(f'createUser {user} {auth} "{auth_key}" AES "{priv_key}"')
        lines.append(f"rouser {user} priv")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """net-snmp snmpd on 127.0.0.1, v2c and v3 (authPriv), stopped after the session."""
    binary = _binary("snmpd", "/usr/sbin", "/usr/local/sbin")
    if binary is None:
        _missing("net-snmp snmpd", "run `apt-get install -y snmpd` (Debian/Ubuntu)")
    home = tmp_path_factory.mktemp("snmpd")
    (home / "persist").mkdir()
    config = home / "snmpd.conf"
    config.write_text(snmpd_config())
    port = free_udp_port()
    log = home / "snmpd.log"
    # -C: read no other config file; MIBDIRS: skip MIB parsing noise (numeric OIDs only)
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(home / "persist"), "MIBS": "",
           "MIBDIRS": str(home)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(binary), "-f", "-Lo", "-C", "-c", str(config), f"udp:127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    wait_until_answering(process, port, COMMUNITY, log, timeout=15)
    yield Agent("127.0.0.1", port, COMMUNITY, RESTRICTED_COMMUNITY, dict(V3_USERS))
    stop(process)


@pytest.fixture
def unused_udp_port() -> int:
    """A local UDP port nothing listens on."""
    return free_udp_port()


@pytest.fixture(scope="session")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """snmpsim serving tests/data/snmp/*.snmprec; community = recording file name."""
    binary = _binary("snmpsim-command-responder", str(Path(sys.executable).parent))
    if binary is None:
        _missing("snmpsim", "run `pip install snmpsim pysmi` in the project's venv")
    home = tmp_path_factory.mktemp("snmpsim")
    port = free_udp_port()
    log = home / "snmpsim.log"
    # snmpsim refuses to run as root unless told it may (CI containers run as root).
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(binary), f"--data-dir={DATA}", f"--cache-dir={home / 'cache'}",
             f"--agent-udpv4-endpoint=127.0.0.1:{port}", "--logging-method=stderr"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    wait_until_answering(process, port, "printer-mono-laser", log, timeout=60)
    yield Agent("127.0.0.1", port)
    stop(process)


@pytest.fixture(scope="session")
def snmptrap() -> str:
    """net-snmp's snmptrap (Debian package ``snmp``)."""
    binary = _binary("snmptrap", "/usr/bin", "/usr/local/bin")
    if binary is None:
        _missing("net-snmp snmptrap", "run `apt-get install -y snmp` (Debian/Ubuntu)")
    assert binary is not None
    return binary


# One snmpsim process per loopback address, each answering the same community with
# its own device. (snmpsim 1.2 can also pick a recording by transport endpoint, but
# not under pysnmp 7: its hook for that is never called.)
LAN_COMMUNITY = "opsgraph-lan"
LAN_DEVICES = {
    "127.0.0.2": "printer-mono-laser",
    "127.0.0.3": "switch-48-port",
    "127.0.0.5": "printer-colour-mfp",
}


@pytest.fixture(scope="session")
def snmpsim_lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """A device on each address of `LAN_DEVICES`, all on one port and community."""
    binary = _binary("snmpsim-command-responder", str(Path(sys.executable).parent))
    if binary is None:
        _missing("snmpsim", "run `pip install snmpsim pysmi` in the project's venv")
    home = tmp_path_factory.mktemp("snmpsim-lan")
    port = free_udp_port()
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    started: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    for address, recording in LAN_DEVICES.items():
        data = home / address / "data"
        data.mkdir(parents=True)
        shutil.copyfile(DATA / f"{recording}.snmprec", data / f"{LAN_COMMUNITY}.snmprec")
        log = home / address / "snmpsim.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(binary), f"--data-dir={data}", f"--cache-dir={home / address / 'cache'}",
                 f"--agent-udpv4-endpoint={address}:{port}", "--logging-method=stderr"],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )
        started.append((process, address, log))
    try:
        for process, address, log in started:
            wait_until_answering(process, port, LAN_COMMUNITY, log, timeout=60, host=address)
        yield Agent("127.0.0.2", port, LAN_COMMUNITY)
    finally:
        for process, _, _ in started:
            stop(process)


POLLED_RECORDINGS = ("printer-mono-laser", "printer-colour-mfp", "switch-48-port")


@pytest.fixture(scope="session")
def polled(snmpsim: Agent) -> dict[str, Any]:
    """Each of `POLLED_RECORDINGS` polled once per session, by name (`PollResult`s)."""
    from collector.snmp.credentials import CommunityCredentials
    from collector.snmp.errors import Reachability
    from collector.snmp.poller import SnmpPoller
    from collector.snmp.session import SnmpClient, Target

    async def run() -> list[Any]:
        async with SnmpClient() as client:
            targets = [Target(snmpsim.host, CommunityCredentials(name), port=snmpsim.port)
                       for name in POLLED_RECORDINGS]
            return await SnmpPoller.over(client).poll_many(targets)

    results = dict(zip(POLLED_RECORDINGS, asyncio.run(run()), strict=True))
    assert all(r.reachability is Reachability.REACHABLE for r in results.values())
    return results
