"""SNMP credentials: a v2c community or a v3 USM user.

Secrets never leave these objects except into pysnmp's engine: ``repr``/``str`` show
``<hidden>``, and the v3 protocols are always named explicitly, so pysnmp's
MD5/DES defaults can never be picked up by omission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AuthProtocol = Literal["SHA", "SHA-256"]
PrivProtocol = Literal["AES-128"]
AUTH_PROTOCOLS: frozenset[str] = frozenset(AuthProtocol.__args__)  # type: ignore[attr-defined]
PRIV_PROTOCOLS: frozenset[str] = frozenset(PrivProtocol.__args__)  # type: ignore[attr-defined]

# RFC 3414 section 11.2: pass phrases shorter than 8 octets are refused by agents.
MIN_PASSPHRASE_LENGTH = 8


@dataclass(frozen=True, slots=True)
class CommunityCredentials:
    """SNMPv2c community string."""

    community: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.community:
            raise ValueError("the v2c community must not be empty")

    def __repr__(self) -> str:
        return "CommunityCredentials(community=<hidden>)"

    @property
    def version(self) -> str:
        return "2c"


@dataclass(frozen=True, slots=True)
class UsmCredentials:
    """SNMPv3 USM user with authentication and, when `priv_key` is set, privacy.

    `auth_protocol` and `priv_protocol` have no defaults on purpose.
    """

    user: str
    auth_protocol: AuthProtocol
    auth_key: str = field(repr=False)
    priv_protocol: PrivProtocol | None = None
    priv_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.user:
            raise ValueError("the v3 user name must not be empty")
        if self.auth_protocol not in AUTH_PROTOCOLS:
            raise ValueError(f"unsupported v3 auth protocol {self.auth_protocol!r}")
        _check_passphrase("auth", self.auth_key)
        if (self.priv_key is None) != (self.priv_protocol is None):
            raise ValueError("a v3 privacy key and privacy protocol go together")
        if self.priv_protocol is not None:
            if self.priv_protocol not in PRIV_PROTOCOLS:
                raise ValueError(f"unsupported v3 privacy protocol {self.priv_protocol!r}")
            _check_passphrase("privacy", self.priv_key)

    def __repr__(self) -> str:
        return (
            f"UsmCredentials(user={self.user!r}, auth_protocol={self.auth_protocol!r}, "
            f"auth_key=<hidden>, priv_protocol={self.priv_protocol!r}, "
            f"priv_key={'<hidden>' if self.priv_key is not None else None})"
        )

    @property
    def version(self) -> str:
        return "3"

    @property
    def security_level(self) -> str:
        return "authPriv" if self.priv_key is not None else "authNoPriv"


Credentials = CommunityCredentials | UsmCredentials


def _check_passphrase(kind: str, key: str | None) -> None:
    # The key itself never goes into the message.
    if key is None or len(key) < MIN_PASSPHRASE_LENGTH:
        raise ValueError(
            f"the v3 {kind} pass phrase must be at least {MIN_PASSPHRASE_LENGTH} characters"
        )
