from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.settings import AgentSettings, ListenAddress, default_agent_id, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    return path


def test_defaults_need_no_file_and_use_the_host_name() -> None:
    settings = load_settings(environ={})
    assert settings.interval_seconds == 15
    assert settings.verify_tls is True
    assert settings.metrics_listen is None
    assert settings.inventory_refresh_seconds == 86400
    assert settings.agent_id == default_agent_id()
    assert (settings.batch_max_reports, settings.batch_max_bytes) == (50, 512 * 1024)


def test_batch_limits_are_read_from_the_environment() -> None:
    env = {"OPSGRAPH_AGENT_BATCH_MAX_REPORTS": "200", "OPSGRAPH_AGENT_BATCH_MAX_BYTES": "1MiB"}
    settings = load_settings(environ=env)
    assert (settings.batch_max_reports, settings.batch_max_bytes) == (200, 1024 * 1024)


def test_file_values_are_read_and_converted(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "server_url: https://cmdb.example:8443\n"
        "token: s3cr3t-token\n"
        "agent_id: pc-0042\n"
        "interval_seconds: 30s\n"
        "spool_max_bytes: 10MiB\n"
        "spool_max_age_seconds: 2d\n"
        "verify_tls: false\n"
        "metrics_listen: 127.0.0.1:9101\n",
    )
    settings = load_settings(config, environ={})
    assert settings.server_url == "https://cmdb.example:8443"
    assert settings.reports_url == "https://cmdb.example:8443/v1/reports"
    assert settings.interval_seconds == 30
    assert settings.spool_max_bytes == 10 * 1024 * 1024
    assert settings.spool_max_age_seconds == 2 * 86400
    assert settings.verify_tls is False
    assert settings.metrics_listen == ListenAddress("127.0.0.1", 9101)


def test_environment_wins_over_file_and_flags_win_over_environment(tmp_path: Path) -> None:
    config = write(tmp_path, "interval_seconds: 30\nagent_id: from-file\n")
    env = {"OPSGRAPH_AGENT_INTERVAL_SECONDS": "60", "OPSGRAPH_AGENT_AGENT_ID": "from-env"}
    settings = load_settings(config, environ=env)
    assert (settings.interval_seconds, settings.agent_id) == (60, "from-env")
    settings = load_settings(config, environ=env, overrides={"agent_id": "from-flag"})
    assert (settings.interval_seconds, settings.agent_id) == (60, "from-flag")


def test_config_file_can_come_from_the_environment(tmp_path: Path) -> None:
    config = write(tmp_path, "agent_id: via-env-path\n")
    settings = load_settings(environ={"OPSGRAPH_AGENT_CONFIG": str(config)})
    assert settings.agent_id == "via-env-path"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("interval_seconds: -5\n", "interval_seconds"),
        ("interval_seconds: soon\n", "interval_seconds"),
        ("verify_tls: maybe\n", "verify_tls"),
        ("server_url: ftp://cmdb\n", "server_url"),
        ("agent_id: 'pc 42'\n", "agent_id"),
        ("metrics_listen: localhost:http\n", "metrics_listen"),
        ("spool_max_bytes: 10 parsecs\n", "spool_max_bytes"),
        ("intervall_seconds: 15\n", "intervall_seconds"),
        ("log_level: chatty\n", "log_level"),
        ("batch_max_reports: 0\n", "batch_max_reports"),
        ("batch_max_reports: 501\n", "batch_max_reports"),
        ("batch_max_reports: 2.5\n", "batch_max_reports"),
        ("batch_max_bytes: lots\n", "batch_max_bytes"),
        ("ca_file: /nonexistent/ca.pem\n", "ca_file"),
        ("- just\n- a list\n", "config"),
        ("interval_seconds: [1\n", "config"),
    ],
)
def test_a_bad_value_raises_config_error_naming_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}:")


def test_a_bad_environment_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^timeout_seconds:"):
        load_settings(environ={"OPSGRAPH_AGENT_TIMEOUT_SECONDS": "0"})


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.yaml", environ={})


@pytest.mark.parametrize("token", ["", "   ", "changeme", "CHANGETHIS", "abc\r\nX-Evil: 1"])
def test_sending_refuses_empty_or_placeholder_tokens(token: str) -> None:
    settings = AgentSettings(server_url="https://cmdb.example", token=token)
    with pytest.raises(ConfigError) as caught:
        settings.require_sending()
    assert caught.value.key == "token"


def test_sending_needs_a_server_url() -> None:
    with pytest.raises(ConfigError) as caught:
        AgentSettings(token="real-token").require_sending()
    assert caught.value.key == "server_url"


def test_token_file_is_read_and_token_is_not_in_repr(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("issued-token-123\n")
    settings = load_settings(environ={"OPSGRAPH_AGENT_TOKEN_FILE": str(token_file)})
    assert settings.token == "issued-token-123"
    assert "issued-token-123" not in repr(settings)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(":9101", ListenAddress("", 9101)), ("[::1]:9101", ListenAddress("::1", 9101)),
     ("off", None), ("9101", ListenAddress("", 9101))],
)
def test_metrics_listen_forms(raw: str, expected: ListenAddress | None) -> None:
    settings = load_settings(environ={"OPSGRAPH_AGENT_METRICS_LISTEN": raw})
    assert settings.metrics_listen == expected
