"""One contract, every store: each test runs against SQLite and a real Neo4j."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from cmdb.errors import UnknownClass
from cmdb.reconcile import reconcile
from cmdb.store import CIQuery, GraphStore, IncidentQuery, WriteTx
from collector.observation import Inventory
from rules.decisions import OpenIncident, RecurIncident, ResolveIncident, StartPending
from rules.persist import apply
from tests.conftest import Clock, StoreFactory

MAC = "00:1a:2b:3c:4d:5e"


def TO_DESK(incident: object) -> tuple[str, ...]:
    return ("service-desk",)


def agent_inventory(**attributes: object) -> Inventory:
    return Inventory(
        source="agent",
        ci_class="Computer",
        identity={"agent_id": "pc-0042", "macs": [MAC], "hostname": "pc-0042",
                  "serial": "To be filled by O.E.M."},
        attributes={"hostname": "pc-0042", "memory_bytes": 8 << 30, **attributes},
    )


def snmp_inventory(**attributes: object) -> Inventory:
    return Inventory(
        source="snmp",
        ci_class="Computer",
        identity={"macs": [MAC.replace(":", "-").upper()], "sys_name": "PC42.corp",
                  "address": "192.0.2.42"},
        attributes={"sys_name": "PC42.corp", "memory_bytes": 4 << 30, **attributes},
    )


def test_reconcile_creates_one_ci_and_finds_it_again(store: GraphStore, clock: Clock) -> None:
    [first] = reconcile(store, [agent_inventory()], clock())
    [again] = reconcile(store, [agent_inventory()], clock.advance(minutes=1))

    assert first.created
    assert not again.created
    assert again.ci_id == first.ci_id
    assert again.changes == ()
    ci = store.get_ci(first.ci_id)
    assert ci is not None
    assert ci.name == "pc-0042"
    assert ci.ci_class == "Computer"
    assert ci.last_seen == clock()
    assert f"mac:{MAC}" in ci.identity_keys
    assert not any(k.startswith("serial:") for k in ci.identity_keys), "placeholder serial"


def test_agent_and_snmp_views_of_one_machine_are_one_ci(store: GraphStore, clock: Clock
                                                        ) -> None:
    [by_agent] = reconcile(store, [agent_inventory()], clock())
    [by_snmp] = reconcile(store, [snmp_inventory()], clock.advance(minutes=5))

    assert by_snmp.ci_id == by_agent.ci_id
    ci = store.get_ci(by_agent.ci_id)
    assert ci is not None
    assert set(ci.sources) == {"agent", "snmp"}
    # The agent outranks SNMP: its memory figure stays, SNMP fills what was unknown.
    assert ci.attributes["memory_bytes"] == 8 << 30
    assert ci.attributes["sys_name"] == "PC42.corp"
    history = store.history(ci.id)
    assert {(h.source, h.attribute) for h in history} >= {
        ("agent", "hostname"), ("agent", "memory_bytes"), ("snmp", "sys_name")}
    assert len(store.list_cis(CIQuery()).items) == 1


def test_history_records_old_and_new_values(store: GraphStore, clock: Clock) -> None:
    [r] = reconcile(store, [agent_inventory(os_version="12")], clock())
    reconcile(store, [agent_inventory(os_version="13")], clock.advance(days=1))

    changes = [h for h in store.history(r.ci_id) if h.attribute == "os_version"]
    assert [(c.old, c.new, c.at) for c in changes] == [(None, "12", changes[0].at),
                                                        ("12", "13", clock())]


def test_evidence_naming_two_cis_is_a_recorded_conflict(store: GraphStore, clock: Clock
                                                        ) -> None:
    one = Inventory("agent", "Computer", {"agent_id": "a1", "hostname": "alpha"}, {})
    two = Inventory("agent", "Computer", {"agent_id": "a2", "hostname": "beta"}, {})
    [r1] = reconcile(store, [one], clock())
    [r2] = reconcile(store, [two], clock())
    both = Inventory("snmp", "Computer", {"hostname": "beta", "agent_id": "a1"}, {})

    [r3] = reconcile(store, [both], clock())

    assert r3.ci_id == r1.ci_id  # the agent id outranks the hostname
    assert [(c.chosen_ci_id, c.other_ci_id, c.key) for c in store.conflicts()] == [
        (r1.ci_id, r2.ci_id, "hostname:beta")]
    assert len(store.list_cis(CIQuery()).items) == 2


def test_unknown_class_is_refused_before_writing(store: GraphStore, clock: Clock) -> None:
    with pytest.raises(UnknownClass):
        reconcile(store, [Inventory("api", "Spaceship", {"name": "x"}, {})], clock())
    assert store.list_cis(CIQuery()).items == []


def test_list_filters_and_pages(store: GraphStore, clock: Clock) -> None:
    inventories = [
        Inventory("agent", "Server" if i % 2 else "Computer", {"agent_id": f"host-{i}"},
                  {"hostname": f"host-{i:02d}"})
        for i in range(7)
    ]
    reconcile(store, inventories, clock())

    seen: list[str] = []
    cursor = None
    while True:
        page = store.list_cis(CIQuery(limit=3, cursor=cursor))
        seen.extend(ci.id for ci in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 7
    assert len(store.list_cis(CIQuery(ci_class="Server")).items) == 3
    assert [c.name for c in store.list_cis(CIQuery(name_contains="ST-05")).items] == ["host-05"]


def test_two_writers_reconciling_one_machine_make_one_ci(store_factory: StoreFactory,
                                                         clock: Clock) -> None:
    stores = [store_factory(), store_factory()]
    barrier = threading.Barrier(len(stores))
    results: list[str] = []
    errors: list[BaseException] = []

    def writer(store: GraphStore) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                [r] = reconcile(store, [agent_inventory()], clock())
                results.append(r.ci_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(set(results)) == 1
    assert len(stores[0].list_cis(CIQuery()).items) == 1


def test_data_survives_reopening_the_store(store_factory: StoreFactory, clock: Clock) -> None:
    first = store_factory()
    [r] = reconcile(first, [agent_inventory()], clock())
    first.close()

    reopened = store_factory()
    ci = reopened.get_ci(r.ci_id)
    assert ci is not None
    assert ci.attributes["hostname"] == "pc-0042"


def test_report_ids_are_claimed_once(store: GraphStore, clock: Clock) -> None:
    def claim(tx: WriteTx) -> bool:
        return tx.claim_report("r-0001", "pc-0042", clock())

    assert store.write(claim) is True
    assert store.write(claim) is False


def _opened(fp: str, ci_id: str, clock: Clock) -> OpenIncident:
    return OpenIncident(fp, "disk-full", ci_id, "major", "disk full", 95.0,
                        (("mountpoint", "/"),), clock())


def test_one_open_incident_per_fingerprint(store: GraphStore, clock: Clock) -> None:
    [r] = reconcile(store, [agent_inventory()], clock())
    fp = f"disk-full|{r.ci_id}|mountpoint=/"

    store.write(lambda tx: apply(tx, [_opened(fp, r.ci_id, clock)], TO_DESK))
    store.write(lambda tx: apply(tx, [_opened(fp, r.ci_id, clock)], TO_DESK))
    store.write(lambda tx: apply(tx, [RecurIncident(fp, 97.0, clock.advance(minutes=1))], TO_DESK))

    [incident] = store.list_incidents(IncidentQuery()).items
    assert incident.state == "open"
    assert incident.occurrences == 3
    assert incident.last_seen == clock()
    assert incident.value == 97.0
    assert [e.event for e in store.outbox()] == ["opened"]


def test_resolving_frees_the_fingerprint_and_notifies(store: GraphStore, clock: Clock) -> None:
    [r] = reconcile(store, [agent_inventory()], clock())
    fp = f"disk-full|{r.ci_id}|mountpoint=/"
    store.write(lambda tx: apply(tx, [_opened(fp, r.ci_id, clock)], TO_DESK))
    resolve = ResolveIncident(fp, 50.0, clock.advance(minutes=10))
    store.write(lambda tx: apply(tx, [resolve], TO_DESK))
    store.write(lambda tx: apply(tx, [_opened(fp, r.ci_id, clock)], TO_DESK))

    incidents = store.list_incidents(IncidentQuery()).items
    assert sorted(i.state for i in incidents) == ["open", "resolved"]
    resolved = next(i for i in incidents if i.state == "resolved")
    assert resolved.resolved_at == clock()
    assert [e.event for e in store.outbox()] == ["opened", "resolved", "opened"]
    assert {e.receiver for e in store.outbox()} == {"service-desk"}
    assert store.outbox()[1].payload["incident"]["state"] == "resolved"  # type: ignore[index]
    assert store.get_incident(resolved.id) == resolved
    assert len(store.list_incidents(IncidentQuery(state="open", ci_id=r.ci_id)).items) == 1


def test_pending_timers_persist(store: GraphStore, clock: Clock) -> None:
    store.write(lambda tx: apply(tx, [StartPending("fp-1", "ci-1", clock())]))
    assert store.write(lambda tx: tx.pending(["fp-1", "fp-2"])) == {"fp-1": clock()}


def test_concurrent_openers_make_one_incident(store_factory: StoreFactory, clock: Clock
                                              ) -> None:
    stores = [store_factory(), store_factory()]
    [r] = reconcile(stores[0], [agent_inventory()], clock())
    fp = f"disk-full|{r.ci_id}|mountpoint=/"
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def opener(store: GraphStore) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                store.write(lambda tx: apply(tx, [_opened(fp, r.ci_id, clock)], TO_DESK))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    [incident] = stores[0].list_incidents(IncidentQuery()).items
    assert incident.occurrences == 10
    assert [e.event for e in stores[0].outbox()] == ["opened"]


def test_tokens_are_found_by_hash(store: GraphStore, clock: Clock) -> None:
    from cmdb.records import ApiToken

    token = ApiToken("ab" * 32, "agent", "pc-0042 agent", clock(), "pc-0042")
    store.add_token(token)
    assert store.token("ab" * 32) == token
    assert store.token("cd" * 32) is None
    other = replace(token, token_hash="ef" * 32, role="operator", agent_id=None)
    store.add_token(other)
    assert store.token("ef" * 32) == other
