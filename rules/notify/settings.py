"""Typed reading of one receiver's YAML mapping. Every problem raises
`ReceiverConfigError` naming the file, receiver and field; secrets are read from the
environment variable a `<field>_env` key names, never from the file itself."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlsplit

from rules.notify.errors import ReceiverConfigError
from rules.notify.policy import EVENTS, NotificationPolicy, unknown_placeholders
from rules.notify.redact import Secret

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MISSING: Any = object()


@dataclass(frozen=True, kw_only=True)
class ReceiverSettings:
    """What every receiver has: its name, request timeout (s), how many deliveries
    to it may be in flight at once, its notification policy (`rules.notify.policy`) and
    the secret its system presents on the inbound sync endpoint (`rules.notify.sync`;
    None: no inbound sync)."""

    name: str
    timeout: float = 10.0
    max_in_flight: int = 8
    policy: NotificationPolicy = field(default_factory=NotificationPolicy)
    inbound_secret: Secret | None = None


class Fields:
    """Reads fields of one receiver; `done()` rejects the keys nobody read."""

    def __init__(self, path: str, receiver: str, raw: Mapping[str, Any],
                 env: Mapping[str, str]) -> None:
        self.path, self.receiver, self._raw, self._env = path, receiver, raw, env
        self._read: set[str] = {"type"}

    def fail(self, key: str | None, reason: str) -> NoReturn:
        raise ReceiverConfigError(self.path, self.receiver, key, reason)

    def _get(self, key: str, default: Any) -> Any:
        self._read.add(key)
        if key in self._raw and self._raw[key] is not None:
            return self._raw[key]
        if default is _MISSING:
            self.fail(key, "is required")
        return default

    def text(self, key: str, default: str = _MISSING) -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "must be a non-empty string")
        return value

    def opt_text(self, key: str) -> str | None:
        return None if self._get(key, None) is None else self.text(key)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"must be an integer from {low} to {high}")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                low <= value <= high):
            self.fail(key, f"must be a number from {low:g} to {high:g}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str = _MISSING) -> str:
        value = self._get(key, default)
        if value not in options:
            self.fail(key, f"must be one of {', '.join(options)}")
        return str(value)

    def url(self, key: str, default: str = _MISSING) -> str:
        return self.check_url(key, self.text(key, default))

    def check_url(self, key: str, value: str) -> str:
        """`value` if it is an http(s) URL without user:password (never echoed)."""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(key, "must be an http:// or https:// URL")
        if parts.username or parts.password:
            self.fail(key, "must not carry credentials: use the auth fields")
        return value.rstrip("/")

    def text_list(self, key: str, default: tuple[str, ...] = _MISSING) -> tuple[str, ...]:
        value = self._get(key, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(
                isinstance(v, str) and v for v in value):
            self.fail(key, "must be a list of strings")
        return tuple(value)

    def mapping(self, key: str) -> dict[str, str]:
        value = self._get(key, {})
        if not isinstance(value, Mapping) or not all(
                isinstance(v, str | int) for v in value.values()):
            self.fail(key, "must be a mapping of names to strings")
        return {str(k): str(v) for k, v in value.items()}

    def secret(self, key: str) -> Secret:
        """The secret in the environment variable that `<key>_env` names."""
        env_key = f"{key}_env"
        name = self._get(env_key, _MISSING)
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            self.fail(env_key, "must name an environment variable")
        value = self._env.get(name, "")
        if not value:
            self.fail(env_key, f"environment variable {name} is not set")
        return Secret(value)

    def opt_secret(self, key: str) -> Secret | None:
        self._read.add(f"{key}_env")
        return self.secret(key) if self._raw.get(f"{key}_env") is not None else None

    def common(self) -> dict[str, Any]:
        """The `ReceiverSettings` fields, as keyword arguments."""
        return {"name": self.receiver,
                "timeout": self.number("timeout", 10.0, 0.1, 300.0),
                "max_in_flight": self.integer("max_in_flight", 8, 1, 256),
                "policy": self.policy(),
                "inbound_secret": self.opt_secret("inbound_secret")}

    def policy(self) -> NotificationPolicy:
        """`events`, `summary_template`, `description_template`."""
        events = self.text_list("events", EVENTS)
        unknown = sorted(set(events) - set(EVENTS))
        if unknown:
            self.fail("events", f"{unknown[0]!r} is not an event: use {', '.join(EVENTS)}")
        templates = {key: self.opt_text(key)
                     for key in ("summary_template", "description_template")}
        for key, template in templates.items():
            wrong = unknown_placeholders(template or "")
            if wrong:
                self.fail(key, f"{{{wrong[0]}}} is not a placeholder an incident fills")
        return NotificationPolicy(frozenset(events), templates["summary_template"],
                                  templates["description_template"])

    def done(self) -> None:
        for key in self._raw:
            if key in self._read:
                continue
            if f"{key}_env" in self._read:
                self.fail(key, f"secrets are not written in the file: set {key}_env to the "
                               "name of an environment variable holding it")
            self.fail(key, "is not a known field")
