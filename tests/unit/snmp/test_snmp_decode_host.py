"""HOST-RESOURCES-MIB and system group decoding, on a recording of net-snmp 5.9."""

from __future__ import annotations

import pytest

from collector.snmp.decode.host import (
    decode_storage,
    host_system_samples,
    memory_bytes,
    processor_samples,
    storage_samples,
)
from collector.snmp.decode.system import decode_system, system_attributes
from collector.snmp.errors import SnmpMalformedReply, SnmpNoSuchName
from collector.snmp.snapshot import Snapshot

LINUX = "netsnmp-linux.snmprec"


def test_system_group(recording):
    system = decode_system(recording(LINUX))
    assert system.name == "testhost.example.org"
    assert system.object_id == (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)
    assert system.vendor == "Net-SNMP"
    assert system.uptime_seconds == pytest.approx(1161.21)
    assert system.offers_layer(7)
    assert not system.offers_layer(2)
    assert system_attributes(system) == {
        "sys_name": "testhost.example.org",
        "sys_descr": "Linux vm 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0 x86_64",
        "sys_location": "Lab rack 4",
        "sys_contact": "ops@example.org",
        "sys_object_id": "1.3.6.1.4.1.8072.3.2.10",
    }


def test_an_agent_without_a_system_group_in_view_is_no_such_name():
    with pytest.raises(SnmpNoSuchName):
        decode_system(Snapshot())


def test_a_sys_object_id_that_is_not_an_oid_is_a_malformed_reply():
    with pytest.raises(SnmpMalformedReply):
        decode_system(Snapshot([((1, 3, 6, 1, 2, 1, 1, 2, 0), b"1.3.6.1.4.1.9")]))


def test_storage(recording):
    samples = storage_samples(decode_storage(recording(LINUX)))
    by_key = {(s.name, s.label("mountpoint")): s for s in samples}
    memory = by_key[("host.memory.used", None)]
    assert memory.value == pytest.approx(100 * 6563972 / 24684084, abs=0.01)
    assert by_key[("host.memory.available", None)].value == (24684084 - 6563972) * 1024
    root = by_key[("host.filesystem.used", "/")]
    assert root.value == pytest.approx(100 * 3541980 / 66053021, abs=0.01)
    assert by_key[("host.filesystem.free", "/")].value == (66053021 - 3541980) * 4096
    assert by_key[("host.filesystem.free", "/")].unit == "bytes"
    # a swap entry of size 0 has no percentage
    assert ("host.swap.used", None) not in by_key


def test_storage_sizes_wrapped_negative_by_integer32_are_read_unsigned():
    base = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
    snapshot = Snapshot([
        ((*base, 2, 40), (1, 3, 6, 1, 2, 1, 25, 2, 1, 4)),
        ((*base, 3, 40), b"/srv/archive"),
        ((*base, 4, 40), 4096),
        ((*base, 5, 40), -1294967296),  # 3_000_000_000 blocks
        ((*base, 6, 40), 1_500_000_000),
    ])
    [storage] = decode_storage(snapshot)
    assert storage.size_bytes == 3_000_000_000 * 4096
    assert storage.used_percent == 50.0


def test_processors_and_system(recording):
    snapshot = recording(LINUX)
    cpu = {s.label("cpu"): s.value for s in processor_samples(snapshot)
           if s.name == "host.cpu.utilization"}
    assert cpu == {"0": 100.0, "1": 99.0, "total": 99.5}
    system = {s.name: s.value for s in host_system_samples(snapshot)}
    assert system == {"host.uptime": 1476.59, "host.users": 0.0, "host.processes": 88.0}
    assert memory_bytes(snapshot) == 24684084 * 1024
