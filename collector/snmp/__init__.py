"""SNMP poller: v2c/v3 requests, typed failures, per-class decoding, classification.

Typical use, inside a running event loop::

    async with SnmpClient() as client:
        poller = SnmpPoller.over(client, max_concurrency=32)
        results = await poller.poll_many(targets)

Each `PollResult` holds the device address, an `Inventory`, `Sample`s, relations
(`PortMac`, `LldpNeighbour`) and a `Reachability`.
"""

from collector.snmp.classify import Classification, DeviceKind, classify
from collector.snmp.credentials import CommunityCredentials, Credentials, UsmCredentials
from collector.snmp.errors import (
    Reachability,
    SnmpAddressError,
    SnmpAgentError,
    SnmpAuthError,
    SnmpError,
    SnmpMalformedReply,
    SnmpNoSuchName,
    SnmpProtocolError,
    SnmpTimeout,
    SnmpUnreachable,
)
from collector.snmp.model import LldpNeighbour, PollResult, PortMac, Relation, Sample
from collector.snmp.poller import DeviceReader, SnmpPoller
from collector.snmp.session import SnmpClient, SnmpSession, Target

__all__ = [
    "Classification",
    "CommunityCredentials",
    "Credentials",
    "DeviceKind",
    "DeviceReader",
    "LldpNeighbour",
    "PollResult",
    "PortMac",
    "Reachability",
    "Relation",
    "Sample",
    "SnmpAddressError",
    "SnmpAgentError",
    "SnmpAuthError",
    "SnmpClient",
    "SnmpError",
    "SnmpMalformedReply",
    "SnmpNoSuchName",
    "SnmpPoller",
    "SnmpProtocolError",
    "SnmpSession",
    "SnmpTimeout",
    "SnmpUnreachable",
    "Target",
    "UsmCredentials",
    "classify",
]
