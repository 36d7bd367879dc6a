"""The agent's one typed settings object, from a YAML file and `OPSGRAPH_AGENT_*` variables.

Precedence, lowest first: defaults, the YAML file, the environment, command-line flags.
Every key of the file is the field name (`server_url: https://...`); the environment
variable is the upper-cased name with the `OPSGRAPH_AGENT_` prefix
(`OPSGRAPH_AGENT_SERVER_URL`). Durations accept seconds or `30s`/`5m`/`2h`/`7d`; sizes
accept bytes or `512KiB`/`50MB`/`1GiB`. Any bad value raises `ConfigError` naming the key.

This is the only agent module that reads the environment.
"""

from __future__ import annotations

import math
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from agent.errors import ConfigError

ENV_PREFIX = "OPSGRAPH_AGENT_"
AGENT_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Tokens that are obviously copied from an example rather than issued by the server.
PLACEHOLDER_TOKENS = frozenset({"changeme", "changethis", "token", "secret", "xxx"})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_BATCH_REPORTS = 500  # the most the collector takes in one request
_DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE_UNITS = {
    "": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3,
}


class ListenAddress(NamedTuple):
    """Where the optional `/metrics` listener binds; host "" means every interface."""

    host: str
    port: int


def default_agent_id() -> str:
    """The host name, with characters the collector refuses replaced by `-`."""
    name = re.sub(r"[^A-Za-z0-9._:-]", "-", socket.gethostname())[:128]
    return name or "unknown-host"


def default_spool_path() -> Path:
    """A system path when running as root, otherwise the user's XDG state directory."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/opsgraph-agent/spool.db")
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "opsgraph-agent" / "spool.db"


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """Everything the agent process is configured with; built once in `main()`."""

    server_url: str | None = None
    token: str = field(default="", repr=False)
    agent_id: str = field(default_factory=default_agent_id)
    interval_seconds: float = 15.0
    spool_path: Path = field(default_factory=default_spool_path)
    spool_max_bytes: int = 50 * 1024 * 1024
    spool_max_age_seconds: float = 7 * 86400.0
    ca_file: Path | None = None
    verify_tls: bool = True
    metrics_listen: ListenAddress | None = None
    inventory_refresh_seconds: float = 86400.0
    inventory_check_seconds: float = 300.0
    timeout_seconds: float = 10.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    batch_max_reports: int = 50
    batch_max_bytes: int = 512 * 1024
    root_path: Path = Path("/")
    log_level: str = "INFO"

    @property
    def reports_url(self) -> str:
        """The collector endpoint reports are POSTed to."""
        if self.server_url is None:
            raise ConfigError("server_url", "is required to send reports")
        return self.server_url.rstrip("/") + "/v1/reports"

    def require_sending(self) -> None:
        """Refuse to send without a server URL or with an empty/placeholder token."""
        if self.server_url is None:
            raise ConfigError("server_url", "is required to send reports")
        token = self.token.strip()
        if not token:
            raise ConfigError("token", "is empty; set OPSGRAPH_AGENT_TOKEN or token_file")
        if token.lower() in PLACEHOLDER_TOKENS:
            raise ConfigError("token", "is a placeholder; use the token issued for this agent")
        if any(char.isspace() or not char.isprintable() for char in token):
            raise ConfigError("token", "contains spaces or control characters")


def _text(key: str, raw: object) -> str:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ConfigError(key, f"expected a string, got {type(raw).__name__}")
    return str(raw).strip()


def _url(key: str, raw: object) -> str | None:
    value = _text(key, raw)
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, f"expected an http:// or https:// URL, got {value!r}")
    return value


def _agent_id(key: str, raw: object) -> str:
    value = _text(key, raw)
    if not AGENT_ID_PATTERN.fullmatch(value):
        raise ConfigError(key, "must be 1-128 characters of [A-Za-z0-9._:-]")
    return value


def _number(key: str, raw: object, units: Mapping[str, float]) -> float:
    if isinstance(raw, bool):
        raise ConfigError(key, "expected a number, got a boolean")
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", _text(key, raw))
        if match is None or match.group(2).lower() not in units:
            raise ConfigError(key, f"cannot read {raw!r} as a number with a unit")
        value = float(match.group(1)) * units[match.group(2).lower()]
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(key, f"must be a positive number, got {raw!r}")
    return value


def _duration(key: str, raw: object) -> float:
    return _number(key, raw, {"": 1.0, **_DURATION_UNITS})


def _size(key: str, raw: object) -> int:
    return int(_number(key, raw, {k: float(v) for k, v in _SIZE_UNITS.items()}))


def _batch_reports(key: str, raw: object) -> int:
    value = _number(key, raw, {"": 1.0})
    if value != int(value) or value > MAX_BATCH_REPORTS:
        raise ConfigError(key, f"must be a whole number from 1 to {MAX_BATCH_REPORTS}")
    return int(value)


def _bool(key: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    value = _text(key, raw).lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(key, f"expected true or false, got {raw!r}")


def _path(key: str, raw: object) -> Path:
    value = _text(key, raw)
    if not value:
        raise ConfigError(key, "must not be empty")
    return Path(value).expanduser()


def _optional_path(key: str, raw: object) -> Path | None:
    return _path(key, raw) if _text(key, raw) else None


def _listen(key: str, raw: object) -> ListenAddress | None:
    value = _text(key, raw)
    if value.lower() in ("", "off", "none"):
        return None
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "", value
    host = host.strip("[]")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(key, f"expected HOST:PORT or :PORT, got {value!r}")
    return ListenAddress(host, int(port))


def _log_level(key: str, raw: object) -> str:
    value = _text(key, raw).upper()
    if value not in LOG_LEVELS:
        raise ConfigError(key, f"must be one of {', '.join(LOG_LEVELS)}")
    return value


_PARSERS: dict[str, Callable[[str, object], Any]] = {
    "server_url": _url,
    "token": _text,
    "agent_id": _agent_id,
    "interval_seconds": _duration,
    "spool_path": _path,
    "spool_max_bytes": _size,
    "spool_max_age_seconds": _duration,
    "ca_file": _optional_path,
    "verify_tls": _bool,
    "metrics_listen": _listen,
    "inventory_refresh_seconds": _duration,
    "inventory_check_seconds": _duration,
    "timeout_seconds": _duration,
    "backoff_initial_seconds": _duration,
    "backoff_max_seconds": _duration,
    "batch_max_reports": _batch_reports,
    "batch_max_bytes": _size,
    "root_path": _path,
    "log_level": _log_level,
}
# Keys accepted in the file and environment that are not fields themselves.
_EXTRA_KEYS = frozenset({"token_file", "config"})


def _read_file(path: Path) -> dict[str, object]:
    import yaml  # lazily: only needed when a file is given

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("config", f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError("config", f"{path} is not valid YAML{line}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict) or not all(isinstance(k, str) for k in loaded):
        raise ConfigError("config", f"{path} must be a mapping of setting names to values")
    return dict(loaded)


def _from_environ(environ: Mapping[str, str]) -> dict[str, object]:
    found: dict[str, object] = {}
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX):
            found[name[len(ENV_PREFIX) :].lower()] = value
    return found


def _read_token_file(raw: object) -> str:
    path = _path("token_file", raw)
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError("token_file", f"cannot read {path}: {exc.strerror or exc}") from exc


def _parse(raw: Mapping[str, object]) -> dict[str, Any]:
    unknown = sorted(set(raw) - set(_PARSERS) - _EXTRA_KEYS)
    if unknown:
        raise ConfigError(unknown[0], "is not a known setting")
    values = {key: _PARSERS[key](key, value) for key, value in raw.items() if key in _PARSERS}
    if "token_file" in raw and not values.get("token"):
        values["token"] = _read_token_file(raw["token_file"])
    return values


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, object | None] | None = None,
) -> AgentSettings:
    """Build settings from defaults < YAML file < environment < `overrides` (CLI flags).

    `config_file` defaults to `$OPSGRAPH_AGENT_CONFIG` when that is set. Overrides
    that are None are ignored. Raises `ConfigError` naming the first bad key.
    """
    env = os.environ if environ is None else environ
    from_env = _from_environ(env)
    file_name = config_file or from_env.get("config")
    raw: dict[str, object] = {}
    if file_name:
        raw.update(_read_file(Path(str(file_name))))
    raw.update(from_env)
    raw.update({key: value for key, value in (overrides or {}).items() if value is not None})
    settings = AgentSettings(**_parse(raw))
    if settings.backoff_initial_seconds > settings.backoff_max_seconds:
        raise ConfigError("backoff_initial_seconds", "must not exceed backoff_max_seconds")
    if settings.ca_file is not None and not settings.ca_file.is_file():
        raise ConfigError("ca_file", f"{settings.ca_file} is not a readable file")
    return settings
