"""The server's one typed settings object: a YAML file, then `OPSGRAPH_*` environment
variables over it. Built once in `main()` and passed in; nothing reads the
environment anywhere else."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from cmdb.connect import NEO4J_SCHEMES
from rules.notify.settings import ReceiverSettings

ENV_PREFIX = "OPSGRAPH_"


class ConfigError(Exception):
    """A configuration that cannot be used; `str()` is one line naming the key."""


class ServerSettings(BaseSettings):
    """Everything `opsgraph serve` and the operator commands are configured with."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    store_url: str = Field(
        "sqlite:///var/opsgraph.db",
        description="sqlite:///relative.db, sqlite:////absolute.db, bolt://host:port, neo4j://",
    )
    neo4j_user: str | None = None
    neo4j_password: SecretStr | None = None
    neo4j_database: str | None = None
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(8080, ge=1, le=65535)
    rules_file: Path | None = None
    routing_file: Path | None = None
    policy_file: Path | None = None
    receivers_file: Path | None = None
    dispatch: bool = Field(True, description="deliver the outbox from `serve` itself")
    tick_seconds: float = Field(5.0, gt=0, le=300)
    stale_after: timedelta = Field(timedelta(days=7), description="unseen this long: stale")
    retire_after: timedelta = Field(timedelta(days=90), description="unseen this long: retired")
    age_out_seconds: float = Field(600.0, gt=0, description="how often staleness is applied")
    max_body_bytes: int = Field(1_000_000, ge=1024, le=100_000_000)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    intake_max_in_flight: int = Field(
        64, ge=1, le=10_000, description="intake requests in flight before 503 + Retry-After")
    intake_retry_after_seconds: int = Field(5, ge=1, le=3600)
    alert_host_labels: list[str] = Field(
        ["instance", "host", "hostname"], min_length=1,
        description="alert labels naming the host, first match wins (port stripped)")
    alert_class_label: str = "ci_class"
    estate_metrics_seconds: float = Field(
        15.0, ge=0, le=3600, description="how long /metrics reuses the estate counts")

    @field_validator("store_url")
    @classmethod
    def _known_store(cls, url: str) -> str:
        if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
            return url
        if url.startswith(NEO4J_SCHEMES) and len(url.split("://", 1)[1]) > 0:
            return url
        raise ValueError("use sqlite:///relative.db, sqlite:////absolute.db, bolt://host:port "
                         "or neo4j://host:port")

    @model_validator(mode="after")
    def _retire_after_stale(self) -> ServerSettings:
        if self.retire_after <= self.stale_after:
            raise ValueError("retire_after must be longer than stale_after")
        return self

    def neo4j_auth(self) -> tuple[str, str] | None:
        if self.neo4j_user is None or self.neo4j_password is None:
            return None
        return (self.neo4j_user, self.neo4j_password.get_secret_value())


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the file must be a mapping of settings")
    return data


def load_settings(path: Path | None = None, **overrides: Any) -> ServerSettings:
    """Settings from `path` (optional), the environment, then `overrides` (CLI flags)."""
    file_values = _read_yaml(path) if path else {}

    class _Layered(ServerSettings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, InitSettingsSource(settings_cls, file_values))

    try:
        return _Layered(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(describe(exc, path)) from None


def load_receivers(settings: ServerSettings) -> dict[str, ReceiverSettings]:
    """The receivers file, its `*_env` secrets resolved from this process's environment
    (`ReceiverConfigError` names the file, receiver and field on a problem)."""
    if settings.receivers_file is None:
        return {}
    from rules.notify.config import load_receivers as load

    return load(settings.receivers_file, os.environ)


def describe(exc: ValidationError, path: Path | None) -> str:
    """One line naming the first bad key, both as a file key and an env variable."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "settings"
    where = f" in {path}" if path else ""
    env = f"{ENV_PREFIX}{key.upper()}"
    reason = "unknown setting" if error["type"] == "extra_forbidden" else error["msg"]
    return f"setting {key!r} ({env}){where}: {reason}"
