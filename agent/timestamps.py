"""RFC 3339 timestamps as the report format wants them (UTC, `Z`, whole seconds)."""

from __future__ import annotations

import time


def rfc3339_utc(epoch_seconds: float) -> str:
    """`2026-11-23T18:30:00Z` for a Unix time (fractions of a second are dropped)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch_seconds)))
