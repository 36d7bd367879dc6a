"""Device classification from the system group and which MIBs answer."""

from __future__ import annotations

import pytest

from collector.snmp import oids
from collector.snmp.classify import DeviceKind, classify
from collector.snmp.decode.system import SystemInfo, decode_system
from collector.snmp.oids import parse_oid
from collector.snmp.snapshot import Snapshot

PRINTER_MIB = (*oids.PRT_GENERAL_ENTRY, 1, 1)
BRIDGE_MIB = (*oids.DOT1D_BASE, 2, 0)
HOST_MIB = oids.HR_SYSTEM_UPTIME


def system(object_id: str = "1.3.6.1.4.1.99999.1", descr: str = "", services: int | None = None):
    return SystemInfo(descr=descr, object_id=parse_oid(object_id), uptime_seconds=1.0,
                      contact="", name="", location="", services=services)


def probe(*answering):
    return Snapshot((oid, 1) for oid in answering)


@pytest.mark.parametrize(
    ("info", "answering", "kind"),
    [
        # the Printer-MIB decides, whatever the vendor
        (system("1.3.6.1.4.1.99999.7", services=72), (PRINTER_MIB, HOST_MIB), DeviceKind.PRINTER),
        # printer product subtrees and sysDescr wording, with no Printer-MIB
        (system("1.3.6.1.4.1.11.2.3.9.1"), (), DeviceKind.PRINTER),
        (system(descr="HP ETHERNET MULTI-ENVIRONMENT,JETDIRECT,JD153"), (), DeviceKind.PRINTER),
        # an HP switch is not an HP printer
        (system("1.3.6.1.4.1.11.2.3.7.11.181", services=2), (BRIDGE_MIB,),
         DeviceKind.NETWORK_DEVICE),
        (system("1.3.6.1.4.1.9.1.1208", services=6), (), DeviceKind.NETWORK_DEVICE),
        (system(services=2), (), DeviceKind.NETWORK_DEVICE),
        (system(services=78), (BRIDGE_MIB,), DeviceKind.NETWORK_DEVICE),
        # a Linux host bridging VMs is still a server
        (system("1.3.6.1.4.1.8072.3.2.10", services=72), (BRIDGE_MIB, HOST_MIB),
         DeviceKind.SERVER),
        (system("1.3.6.1.4.1.8072.3.2.10", services=72), (), DeviceKind.SERVER),
        (system("1.3.6.1.4.1.311.1.1.3.1.2", services=76), (HOST_MIB,), DeviceKind.SERVER),
        (system("1.3.6.1.4.1.311.1.1.3.1.1", services=76), (HOST_MIB,), DeviceKind.COMPUTER),
        (system("1.3.6.1.4.1.8072.3.2.16", services=72), (HOST_MIB,), DeviceKind.COMPUTER),
        (system("1.3.6.1.4.1.318.1.3.27", services=72), (), DeviceKind.UNKNOWN),
    ],
)
def test_classify(info, answering, kind):
    assert classify(info, probe(*answering)).kind == kind


def test_unknown_devices_are_inventoried_as_network_devices():
    result = classify(system("1.3.6.1.4.1.318.1.3.27"), probe())
    assert result.ci_class == "NetworkDevice"
    assert result.reason


@pytest.mark.parametrize(
    ("name", "ci_class"),
    [
        ("printer-mono-laser.snmprec", "Printer"),
        ("printer-colour-mfp.snmprec", "Printer"),
        ("switch-48-port.snmprec", "NetworkDevice"),
        ("switch-qbridge.snmprec", "NetworkDevice"),
        ("netsnmp-linux.snmprec", "Server"),
    ],
)
def test_recordings_classify(recording, name, ci_class):
    snapshot = recording(name)
    assert classify(decode_system(snapshot), snapshot).ci_class == ci_class
