"""Real `opsgraph serve` and `opsgraph-agent` processes for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def opsgraph(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run([str(BIN / "opsgraph"), *args], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


class Server:
    """`opsgraph serve` on a free port; `kill()` is a crash, `start()` a restart."""

    def __init__(self, store_url: str, rules: Path, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "OPSGRAPH_STORE_URL": store_url,
                    "OPSGRAPH_RULES_FILE": str(rules), "OPSGRAPH_LISTEN_PORT": str(self.port)}
        self.log = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.operator = opsgraph("token", "create", "--role", "operator", "--name", "e2e",
                                 env=self.env)

    def agent_token(self, agent_id: str) -> str:
        return opsgraph("token", "create", "--role", "agent", "--name", f"agent {agent_id}",
                        "--agent-id", agent_id, env=self.env)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([str(BIN / "opsgraph"), "serve"], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=1):
                    return
            except OSError:
                assert self.process.poll() is None, self.log.read_text()[-2000:]
                time.sleep(0.1)
        raise AssertionError(f"server not ready: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def get(self, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}{path}",
                                         headers={"Authorization": f"Bearer {self.operator}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())


class Agent:
    """`opsgraph-agent` with its own spool, pointed at a server."""

    def __init__(self, server: Server, agent_id: str, workdir: Path) -> None:
        self.spool = workdir / f"{agent_id}-spool.db"
        self.log = workdir / f"{agent_id}.log"
        self.env = {**os.environ, "OPSGRAPH_AGENT_TOKEN": server.agent_token(agent_id),
                    "OPSGRAPH_AGENT_SERVER_URL": server.url,
                    "OPSGRAPH_AGENT_AGENT_ID": agent_id,
                    "OPSGRAPH_AGENT_SPOOL_PATH": str(self.spool),
                    "OPSGRAPH_AGENT_BACKOFF_INITIAL_SECONDS": "0.2",
                    "OPSGRAPH_AGENT_BACKOFF_MAX_SECONDS": "1"}
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "opsgraph-agent"), *args], capture_output=True,
                              text=True, env=self.env, cwd=ROOT, timeout=60, check=False)

    def run(self, interval: str) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "opsgraph-agent"), "run", "--interval", interval], env=self.env,
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def status(self) -> dict[str, Any]:
        result = self.command("status", "--json")
        assert result.returncode in (0, 1), result.stderr
        status: dict[str, Any] = json.loads(result.stdout)
        return status
