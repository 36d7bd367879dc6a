"""Discovery sweeps: endpoints, bounded concurrency, classification, failures."""

from __future__ import annotations

import asyncio

import pytest

from collector.snmp.classify import DeviceKind
from collector.snmp.credentials import CommunityCredentials
from collector.snmp.discovery import Sweeper, endpoints, parse_ports
from collector.snmp.errors import SnmpTimeout
from collector.snmp.report import summary_table


def test_ports_and_ranges():
    assert parse_ports("161") == [161]
    assert parse_ports("1161,161, 16100-16102") == [161, 1161, 16100, 16101, 16102]
    with pytest.raises(ValueError, match="bad port range"):
        parse_ports("0-10")


def test_endpoints_of_a_range_skip_network_and_broadcast():
    found = endpoints(["127.0.1.0/30", "127.0.2.9"], [161, 1161])
    assert found == [("127.0.1.1", 161), ("127.0.1.1", 1161), ("127.0.1.2", 161),
                     ("127.0.1.2", 1161), ("127.0.2.9", 161), ("127.0.2.9", 1161)]
    assert len(endpoints(["127.0.0.0/22"], [161])) == 1022


def test_huge_sweeps_are_refused():
    with pytest.raises(ValueError, match="sweep smaller ranges"):
        endpoints(["10.0.0.0/8"], [161])


class Answering:
    """Readers for a fake network: some addresses hold recordings, others time out."""

    def __init__(self, recorded_device, devices):
        self.devices = {address: recorded_device(name) for address, name in devices.items()}
        self.in_flight = self.peak = 0

    async def open(self, target):
        device = self.devices.get(target.address)
        outer = self

        class Reader:
            async def get(self, oids):
                outer.in_flight += 1
                outer.peak = max(outer.peak, outer.in_flight)
                await asyncio.sleep(0.001)
                outer.in_flight -= 1
                if device is None or target.credentials.community != "public":
                    raise SnmpTimeout("no response", address=target.endpoint)
                return await device.get(oids)

            async def get_next(self, oids):
                return await device.get_next(oids)

        return Reader()


def test_a_sweep_classifies_what_answers_within_its_concurrency(recorded_device):
    network = Answering(recorded_device, {
        "127.0.1.3": "printer-colour-mfp.snmprec",
        "127.0.1.9": "switch-48-port.snmprec",
        "127.0.1.20": "netsnmp-linux.snmprec",
    })
    communities = [CommunityCredentials("wrong"), CommunityCredentials("public")]
    sweeper = Sweeper(network.open, communities, concurrency=5, timeout=0.1)
    seen = []
    result = asyncio.run(sweeper.sweep(endpoints(["127.0.1.0/27"], [161]),
                                       lambda p: seen.append(p.asked)))
    assert [(d.address, d.kind, d.credentials_index) for d in result.found] == [
        ("127.0.1.3", DeviceKind.PRINTER, 1),
        ("127.0.1.9", DeviceKind.NETWORK_DEVICE, 1),
        ("127.0.1.20", DeviceKind.SERVER, 1),
    ]
    assert result.asked == 30
    assert result.failures == {"timeout": 27}
    assert network.peak == 5
    assert seen == list(range(1, 31))
    table = summary_table(result)
    [switch] = [line.split()[:3] for line in table.splitlines() if line.startswith("127.0.1.9")]
    assert switch == ["127.0.1.9:161", "network_device", "acc-sw-3f.example.org"]
    assert "3 of 30 endpoints answered: 1 network_device, 1 printer, 1 server" in table
    assert "no answer: 27 timeout" in table
