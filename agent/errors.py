"""The agent's exception hierarchy.

    AgentError                     base of everything the agent raises on purpose
    ├── ConfigError                a setting is missing or invalid; `key` names it (exit 2)
    ├── SpoolError                 the SQLite spool cannot be opened, read or written (exit 3)
    ├── TransportError             no HTTP answer: refused/reset connection, TLS error, timeout
    └── PlatformNotSupportedError  a platform-specific source asked for on another platform

The CLI turns each of them into an exit code and a one-line message; nothing else
catches them silently.
"""

from __future__ import annotations


class AgentError(Exception):
    """Base class of every error the agent raises deliberately."""


class ConfigError(AgentError):
    """A configuration value is missing or invalid.

    `key` is the setting name (as in the YAML file) so the message can point at it.
    """

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


class SpoolError(AgentError):
    """The durable spool could not be opened, read or written."""


class TransportError(AgentError):
    """The collector gave no HTTP answer (connection error, TLS error or timeout).

    Whether the collector stored the report is unknown, so the report is re-sent later;
    the collector is idempotent by `report_id`.
    """


class PlatformNotSupportedError(AgentError):
    """A platform-specific source (WMI, ioreg, DMI) is not available on this platform."""
