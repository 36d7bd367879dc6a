"""Typed failures, credentials that never show their secrets, and reply checking."""

from __future__ import annotations

import pytest
from pyasn1.error import PyAsn1Error
from pysnmp.error import PySnmpError
from pysnmp.proto import errind, rfc1902, rfc1905

from collector.snmp.credentials import CommunityCredentials, UsmCredentials
from collector.snmp.errors import (
    Reachability,
    SnmpAgentError,
    SnmpAuthError,
    SnmpError,
    SnmpMalformedReply,
    SnmpNoSuchName,
    SnmpProtocolError,
    SnmpTimeout,
)
from collector.snmp.replies import check_reply, indication_error, plain_value, pysnmp_failures
from collector.snmp.session import Target
from collector.snmp.snapshot import Snapshot, display_text, format_mac

COMMUNITY = "s3cret-community"
AUTH_KEY, PRIV_KEY = "auth-Passphrase-1", "priv-Passphrase-2"


def test_credentials_never_show_their_secrets():
    v2c = CommunityCredentials(COMMUNITY)
    v3 = UsmCredentials("ops", "SHA-256", AUTH_KEY, "AES-128", PRIV_KEY)
    target = Target("192.0.2.5", v3)
    for text in (repr(v2c), str(v2c), repr(v3), str(v3), repr(target),
                 repr(Target("192.0.2.6", v2c))):
        assert COMMUNITY not in text
        assert AUTH_KEY not in text
        assert PRIV_KEY not in text
    assert "ops" in repr(v3)
    assert v3.security_level == "authPriv"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"auth_protocol": "MD5"},
        {"auth_key": "short"},
        {"priv_protocol": "DES"},
        {"priv_key": None},  # privacy protocol without a key
        {"priv_key": "short"},
        {"user": ""},
    ],
)
def test_v3_credentials_refuse_weak_or_incomplete_settings(kwargs):
    settings = {"user": "ops", "auth_protocol": "SHA", "auth_key": AUTH_KEY,
                "priv_protocol": "AES-128", "priv_key": PRIV_KEY, **kwargs}
    with pytest.raises(ValueError, match=r"v3") as caught:
        UsmCredentials(**settings)
    assert AUTH_KEY not in str(caught.value)
    assert "short" not in str(caught.value)


def test_auth_without_privacy_is_explicit():
    v3 = UsmCredentials("ops", "SHA", AUTH_KEY)
    assert v3.security_level == "authNoPriv"


@pytest.mark.parametrize(
    ("error", "reachability"),
    [
        (SnmpTimeout("x"), Reachability.UNREACHABLE),
        (SnmpAuthError("x", reason="wrong_digest"), Reachability.AUTH_FAILED),
        (SnmpNoSuchName("x"), Reachability.PROTOCOL_ERROR),
        (SnmpMalformedReply("x"), Reachability.PROTOCOL_ERROR),
        (SnmpAgentError("x", status="genErr"), Reachability.PROTOCOL_ERROR),
    ],
)
def test_each_failure_names_a_reachability(error, reachability):
    assert error.reachability == reachability


def test_a_failure_can_be_attributed_to_an_address_later():
    error = SnmpAuthError("bad digest", reason="wrong_digest").at("192.0.2.1:161")
    assert isinstance(error, SnmpAuthError)
    assert error.reason == "wrong_digest"
    assert str(error) == "192.0.2.1:161: bad digest"


@pytest.mark.parametrize(
    ("indication", "kind", "reason"),
    [
        (errind.requestTimedOut, SnmpTimeout, None),
        (errind.wrongDigest, SnmpAuthError, "wrong_digest"),
        (errind.decryptionError, SnmpAuthError, "decryption_error"),
        (errind.unknownUserName, SnmpAuthError, "unknown_user"),
        (errind.unsupportedSecurityLevel, SnmpAuthError, "unsupported_security_level"),
        (errind.notInTimeWindow, SnmpAuthError, "not_in_time_window"),
        (errind.parseError, SnmpMalformedReply, None),
        (errind.oidNotIncreasing, SnmpMalformedReply, None),
        (errind.reportPduReceived, SnmpProtocolError, None),
    ],
)
def test_error_indications_become_typed_failures(indication, kind, reason):
    error = indication_error(indication, "192.0.2.1:161")
    assert type(error) is kind
    assert error.address == "192.0.2.1:161"
    if reason:
        assert error.reason == reason


def test_error_status_is_returned_with_a_zero_based_index():
    status = check_reply(None, 2, 3, sent=4, address="a")
    assert (status.name, status.index) == ("noSuchName", 2)
    assert check_reply(None, 5, 0, sent=4, address="a").index is None
    assert check_reply(None, 0, 0, sent=1, address="a") is None
    error = status.error("192.0.2.1:161")
    assert isinstance(error, SnmpAgentError)
    assert error.status == "noSuchName"


def test_plain_values():
    assert plain_value(rfc1902.Counter64(2**40)) == 2**40
    assert plain_value(rfc1902.TimeTicks(100)) == 100
    assert plain_value(rfc1902.OctetString(b"\x00\x01")) == b"\x00\x01"
    assert plain_value(rfc1902.IpAddress("192.0.2.1")) == bytes([192, 0, 2, 1])
    assert plain_value(rfc1902.ObjectIdentifier("1.3.6.1")) == (1, 3, 6, 1)
    assert plain_value(rfc1905.NoSuchObject("")) is None
    assert plain_value(rfc1905.EndOfMibView("")) is None


def test_snapshot_typed_readers_refuse_the_wrong_type():
    snapshot = Snapshot([((1, 3, 1), b"text"), ((1, 3, 2), 5), ((1, 3, 3, 1), 7)])
    assert snapshot.text((1, 3, 1)) == "text"
    assert snapshot.integer((1, 3, 9)) is None
    with pytest.raises(SnmpMalformedReply):
        snapshot.integer((1, 3, 1))
    with pytest.raises(SnmpMalformedReply):
        snapshot.text((1, 3, 2))
    assert snapshot.integer_column((1, 3, 3)) == {(1,): 7}
    assert [index for index, _ in snapshot.subtree((1, 3))] == [(1,), (2,), (3, 1)]
    assert issubclass(SnmpMalformedReply, SnmpError)


def test_text_and_mac_helpers():
    assert display_text(b"HP LaserJet\x00\x00 ") == "HP LaserJet"
    assert display_text(b"Caf\xe9") == "Café"
    assert format_mac(b"\x3c\x2a\xf4\xe1\xd2\xb0") == "3c:2a:f4:e1:d2:b0"
    assert format_mac(b"\x01\x02") is None


@pytest.mark.parametrize(
    ("raised", "kind"),
    [(PyAsn1Error("bad tag near s3cret-community"), SnmpMalformedReply),
     (PySnmpError("engine said s3cret-community"), SnmpProtocolError)],
)
def test_exceptions_pysnmp_raises_become_typed_failures_without_their_text(raised, kind):
    with pytest.raises(kind) as caught, pysnmp_failures("192.0.2.1:161"):
        raise raised
    assert COMMUNITY not in str(caught.value)
    assert caught.value.__cause__ is None
