"""Secrets that never show: `Secret` hides its value from repr/str, and `Redactor`
scrubs known secret values and credential-shaped text (Authorization headers, bearer
tokens, user:password@ in URLs) out of anything stored or logged."""

from __future__ import annotations

import re
from collections.abc import Iterable

BODY_LIMIT = 4096
"""Response bodies kept in a dead letter, in characters."""

_CREDENTIAL_PATTERNS = (
    re.compile(r"(?i)(authorization\s*[:=]\s*)[^\r\n,;\"']+"),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(\"?(?:routing_key|password|client_secret|access_token|token)\"?\s*[:=]\s*\"?)"
               r"[^\s\"',&}]+"),
    re.compile(r"(//[^/\s:@]+:)[^@\s/]+(@)"),
)


class Secret:
    """A secret from the environment. `reveal()` is the only way to its value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Redactor:
    """Replaces every known secret value, and credential-shaped text, with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        return Redactor([*self._secrets, *secrets])

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        for pattern in _CREDENTIAL_PATTERNS:
            text = pattern.sub(_keep_prefix, text)
        return text

    def body(self, text: str | None) -> str | None:
        """A response body fit to store: redacted and at most `BODY_LIMIT` characters."""
        if text is None:
            return None
        return self(text[:BODY_LIMIT])


def _keep_prefix(match: re.Match[str]) -> str:
    groups = [g for g in match.groups() if g is not None]
    if len(groups) == 2:  # user:password@ keeps "//user:" and "@"
        return f"{groups[0]}***{groups[1]}"
    if groups and groups[0].lower() in ("bearer", "basic"):
        return f"{groups[0]} ***"
    return f"{groups[0]}***" if groups else "***"
