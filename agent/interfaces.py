"""Which network interfaces the agent reports, shared by the network probe and inventory.

Loopback carries no host identity (every machine has 00:00:00:00:00:00 / 127.0.0.1)
and container veth/bridge ports come and go by the hundred, so they are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

DEFAULT_EXCLUDED_INTERFACES: tuple[str, ...] = (
    "lo", "lo0", "Loopback*", "veth*", "cali*", "lxc*", "tap*", "docker_gwbridge",
)


def interface_included(name: str, excluded: Iterable[str] = DEFAULT_EXCLUDED_INTERFACES) -> bool:
    """True unless `name` matches one of the `excluded` glob patterns."""
    return not any(fnmatchcase(name, pattern) for pattern in excluded)
