"""The poller against a real net-snmp snmpd: v2c, v3 authPriv, and every way a poll
can fail that a real agent can show."""

from __future__ import annotations

import asyncio
import logging

import pytest

from collector.snmp import oids
from collector.snmp.credentials import CommunityCredentials, UsmCredentials
from collector.snmp.errors import (
    Reachability,
    SnmpAuthError,
    SnmpNoSuchName,
    SnmpTimeout,
)
from collector.snmp.poller import SnmpPoller
from collector.snmp.session import SnmpClient, Target


def usm(agent, user, auth_key=None, priv_key=None):
    auth, real_auth_key, real_priv_key = agent.v3_users[user]
    return UsmCredentials(user, auth, auth_key or real_auth_key, "AES-128",
                          priv_key or real_priv_key)


def agent_target(agent, credentials, **options):
    options = {"timeout": 0.5, "retries": 0, **options}
    return Target(agent.host, credentials, port=agent.port, **options)


def poll(*targets, max_concurrency=8):
    async def run():
        async with SnmpClient() as client:
            poller = SnmpPoller.over(client, max_concurrency=max_concurrency)
            return await poller.poll_many(targets)

    return asyncio.run(run())


def get_system_group(target):
    async def run():
        async with SnmpClient() as client:
            session = await client.session(target)
            return dict(await session.get(oids.SYSTEM_GROUP))

    return asyncio.run(run())


def test_v2c_reads_the_system_group(snmpd):
    values = get_system_group(agent_target(snmpd, CommunityCredentials(snmpd.community)))
    assert values[oids.SYS_NAME] == b"testhost.example.org"
    assert values[oids.SYS_LOCATION] == b"Lab rack 4"
    assert values[oids.SYS_CONTACT] == b"ops@example.org"
    assert values[oids.SYS_OBJECT_ID][:7] == (1, 3, 6, 1, 4, 1, 8072)
    assert values[oids.SYS_UPTIME] > 0


def test_v2c_poll_of_snmpd_is_a_server(snmpd):
    [result] = poll(agent_target(snmpd, CommunityCredentials(snmpd.community)))
    assert result.reachability is Reachability.REACHABLE, result.failures
    assert result.inventory.ci_class == "Server"
    assert result.inventory.identity["sys_name"] == "testhost.example.org"
    assert result.inventory.identity["hostname"] == "testhost"
    names = {sample.name for sample in result.samples}
    # (hrProcessorLoad only appears once net-snmp has a minute of CPU history)
    assert {"host.uptime", "host.memory.used", "host.filesystem.used"} <= names


@pytest.mark.parametrize("user", ["opsgraph-sha", "opsgraph-sha256"])
def test_v3_auth_priv_poll_works(snmpd, user):
    [result] = poll(agent_target(snmpd, usm(snmpd, user)))
    assert result.reachability is Reachability.REACHABLE, result.failures
    assert result.inventory.attributes["sys_location"] == "Lab rack 4"


def test_wrong_community_is_a_timeout(snmpd):
    # v2c agents drop unknown communities silently: it cannot be told from a dead device
    [result] = poll(agent_target(snmpd, CommunityCredentials("not-the-community")))
    assert result.reachability is Reachability.UNREACHABLE
    assert isinstance(result.failure, SnmpTimeout)
    assert result.inventory is None


def test_wrong_v3_auth_key_is_an_auth_error(snmpd):
    [result] = poll(agent_target(snmpd, usm(snmpd, "opsgraph-sha", auth_key="wrong-auth-key-1")))
    assert result.reachability is Reachability.AUTH_FAILED
    assert isinstance(result.failure, SnmpAuthError)
    assert result.failure.reason == "wrong_digest"


def test_unknown_v3_user_is_an_auth_error(snmpd):
    credentials = UsmCredentials("nobody-here", "SHA", "auth-key-sha-1", "AES-128",
                                 "priv-key-sha-1")
    [result] = poll(agent_target(snmpd, credentials))
    assert isinstance(result.failure, SnmpAuthError)
    assert result.failure.reason == "unknown_user"


def test_wrong_v3_priv_key_is_a_timeout_with_net_snmp(snmpd):
    # net-snmp drops a request it cannot decrypt instead of reporting it
    [result] = poll(agent_target(snmpd, usm(snmpd, "opsgraph-sha", priv_key="wrong-priv-key-1")))
    assert result.reachability is Reachability.UNREACHABLE
    assert isinstance(result.failure, SnmpTimeout)


def test_dead_port_is_unreachable(snmpd, unused_udp_port):
    dead = Target(snmpd.host, CommunityCredentials(snmpd.community), port=unused_udp_port,
                  timeout=0.3, retries=1)
    [result] = poll(dead)
    assert result.reachability is Reachability.UNREACHABLE
    assert isinstance(result.failure, SnmpTimeout)
    assert result.failure.address == f"127.0.0.1:{dead.port}"


def test_an_agent_hiding_its_system_group_is_no_such_name(snmpd):
    [result] = poll(agent_target(snmpd, CommunityCredentials(snmpd.restricted_community)))
    assert result.reachability is Reachability.PROTOCOL_ERROR
    assert isinstance(result.failure, SnmpNoSuchName)


def test_right_and_wrong_keys_for_one_user_do_not_disturb_each_other(snmpd):
    good = agent_target(snmpd, usm(snmpd, "opsgraph-sha"))
    bad = agent_target(snmpd, usm(snmpd, "opsgraph-sha", auth_key="wrong-auth-key-1"))
    results = poll(good, bad, good, bad, good)
    assert [r.reachability for r in results] == [
        Reachability.REACHABLE, Reachability.AUTH_FAILED, Reachability.REACHABLE,
        Reachability.AUTH_FAILED, Reachability.REACHABLE,
    ]


def test_secrets_appear_in_no_log_repr_or_error(snmpd, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = ["not-the-community", "wrong-auth-key-1", *snmpd.v3_users["opsgraph-sha"][1:]]
    results = poll(
        agent_target(snmpd, CommunityCredentials("not-the-community")),
        agent_target(snmpd, usm(snmpd, "opsgraph-sha", auth_key="wrong-auth-key-1")),
        agent_target(snmpd, usm(snmpd, "opsgraph-sha")),
    )
    texts = [caplog.text]
    for result in results:
        texts += [repr(result), str(result.failure), repr(result.failure)]
    for text in texts:
        for secret in secrets:
            assert secret not in text
