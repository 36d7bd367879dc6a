"""The `opsgraph` command as an operator runs it: exit codes and one-line reasons."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "etc" / "service-model.example.yaml"


def opsgraph(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60, check=False)


def test_import_then_impact_prints_readably(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    imported = opsgraph("--store", store, "cmdb", "import", str(EXAMPLE))
    assert imported.returncode == 0, imported.stderr
    assert "7 CIs and 6 relationships applied" in imported.stdout

    shown = opsgraph("--store", store, "impact", "db-01")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[:3] == [
        "If Server db-01 fails:",
        "  business services:",
        "    DEGRADED  Online sales  (criticality high)  (1200 users)",
    ]
    assert "orders-db" in shown.stdout
    assert "db-01 <- DEPENDS_ON orders-db" in shown.stdout


def test_impact_of_an_unknown_name_is_exit_1_with_a_reason(tmp_path: Path) -> None:
    result = opsgraph("--store", f"sqlite:///{tmp_path / 'x.db'}", "impact", "nothing")
    assert result.returncode == 1
    assert result.stderr == "opsgraph: 0 CIs are called 'nothing'\n"


def test_a_bad_model_file_is_exit_1_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("cis:\n  - {class: Server, name: a}\n  - {class: Fridge, name: b}\n")
    result = opsgraph("--store", f"sqlite:///{tmp_path / 'x.db'}", "cmdb", "import", str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith(f"opsgraph: {bad}:3: unknown or missing class 'Fridge'")
    assert len(result.stderr.splitlines()) == 1


def test_rules_check(tmp_path: Path) -> None:
    assert opsgraph("rules", "check", "etc/rules.yaml").returncode == 0
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - name: x\n    metric: m\n    when: '> 1'\n    for: forever\n")
    result = opsgraph("rules", "check", str(bad))
    assert result.returncode == 1
    assert result.stderr == (f"opsgraph: {bad}:5: rule 'x': field 'for': "
                             "a duration such as 30s, 5m, 1h\n")


def test_bad_settings_exit_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "opsgraph.yaml"
    config.write_text("listen_port: 99999\n")
    result = opsgraph("--config", str(config), "cis")
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"opsgraph: setting 'listen_port' (OPSGRAPH_LISTEN_PORT) in {config}:")
    import os

    env = {**os.environ, "OPSGRAPH_STORE_URL": "ftp://nowhere"}
    result = opsgraph("cis", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("opsgraph: setting 'store_url' (OPSGRAPH_STORE_URL): "
                                    "Value error, use sqlite:///")
