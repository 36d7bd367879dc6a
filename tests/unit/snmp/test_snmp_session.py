"""Session logic that needs no agent: column walks, GET retries, v3 key turns, and
one engine per event loop."""

from __future__ import annotations

import asyncio

import pytest
from pysnmp.proto import rfc1902, rfc1905

from collector.snmp.credentials import CommunityCredentials, UsmCredentials
from collector.snmp.errors import SnmpAgentError, SnmpMalformedReply
from collector.snmp.replies import AgentStatus, advance_columns
from collector.snmp.session import SnmpClient, SnmpSession, Target
from collector.snmp.usm_turns import UsmTurns

A, B = (1, 3, 6, 1, 9, 1), (1, 3, 6, 1, 9, 2)


def reply(*pairs):
    return [(rfc1902.ObjectName(oid), value) for oid, value in pairs]


def test_a_column_walk_reads_rows_and_notices_each_column_ending():
    cursors, found = {A: A, B: B}, []
    answer = reply(
        ((*A, 1), rfc1902.Integer(1)), ((*B, 1), rfc1902.OctetString(b"x")),
        ((*A, 2), rfc1902.Integer(2)), ((*B, 2), rfc1902.OctetString(b"y")),
        ((*B, 1), rfc1902.OctetString(b"x")),  # A ran into column B: A is done
        ((1, 3, 6, 1, 9, 3, 1), rfc1902.Integer(0)),  # B ran past the table
    )
    finished = advance_columns(cursors, [A, B], answer, found, "agent")
    assert finished == {A, B}
    assert found == [((*A, 1), 1), ((*B, 1), b"x"), ((*A, 2), 2), ((*B, 2), b"y")]


def test_a_column_walk_stops_at_end_of_mib_and_continues_unfinished_columns():
    cursors, found = {A: A, B: B}, []
    answer = reply(((*A, 1), rfc1902.Integer(1)), ((*B, 1), rfc1905.EndOfMibView("")),
                   ((*A, 2), rfc1902.Integer(2)))
    assert advance_columns(cursors, [A, B], answer, found, "agent") == {B}
    assert cursors[A] == (*A, 2)


@pytest.mark.parametrize(
    "answer",
    [
        [],
        reply(((*A, 5), rfc1902.Integer(1)), ((*A, 3), rfc1902.Integer(1))),
    ],
)
def test_an_empty_or_backwards_column_answer_is_malformed(answer):
    cursors = {A: A}
    with pytest.raises(SnmpMalformedReply):
        advance_columns(cursors, [A], answer, [], "agent")


class ScriptedSession(SnmpSession):
    """A session whose GETs are answered by `agent(oids)` -> (status or None, values)."""

    def __init__(self, agent):
        super().__init__(Target("192.0.2.1", CommunityCredentials("public")), None, None,
                         None, UsmTurns())
        self.agent, self.sent = agent, []

    async def _request(self, command, oids, found):
        self.sent.append(list(oids))
        status, values = self.agent(oids)
        if status is None:
            found.extend(values)
        return status


def test_get_drops_an_object_the_agent_calls_no_such_name_and_asks_again():
    def agent(oids):
        if A in oids:
            return AgentStatus("noSuchName", oids.index(A)), []
        return None, [(oid, 1) for oid in oids]

    session = ScriptedSession(agent)
    assert asyncio.run(session.get([B, A, (1, 3)])) == [(B, 1), ((1, 3), 1)]
    assert session.sent == [[B, A, (1, 3)], [B, (1, 3)]]


def test_get_splits_a_request_that_is_too_big():
    def agent(oids):
        if len(oids) > 2:
            return AgentStatus("tooBig", None), []
        return None, [(oid, 0) for oid in oids]

    wanted = [(1, n) for n in range(5)]
    found = asyncio.run(ScriptedSession(agent).get(wanted))
    assert sorted(found) == [(oid, 0) for oid in wanted]


def test_get_raises_other_agent_errors():
    session = ScriptedSession(lambda oids: (AgentStatus("authorizationError", None), []))
    with pytest.raises(SnmpAgentError, match="authorizationError"):
        asyncio.run(session.get([A]))


def test_different_keys_for_one_v3_user_take_turns_and_equal_keys_share():
    turns = UsmTurns()
    right = UsmCredentials("ops", "SHA", "auth-key-123", "AES-128", "priv-key-123")
    wrong = UsmCredentials("ops", "SHA", "auth-key-999", "AES-128", "priv-key-123")
    log = []

    async def request(name, credentials):
        async with turns.turn(credentials):
            log.append(f"{name} start")
            await asyncio.sleep(0.01)
            log.append(f"{name} end")

    async def main():
        await asyncio.gather(request("r1", right), request("w", wrong), request("r2", right))

    asyncio.run(main())
    assert log[:2] == ["r1 start", "r2 start"]  # same keys run together
    assert log.index("w start") > log.index("r1 end")
    assert log.index("w start") > log.index("r2 end")


def test_a_client_serves_one_event_loop():
    client = SnmpClient()

    async def first():
        client.engine()
        with pytest.raises(RuntimeError, match="one event loop"):
            await asyncio.to_thread(asyncio.run, second())
        client.close()

    async def second():
        client.engine()

    asyncio.run(first())
