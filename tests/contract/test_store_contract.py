"""One contract, every store: each test runs against SQLite and a real Neo4j."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from cmdb.errors import UnknownClass
from cmdb.reconcile import reconcile
from cmdb.store import CIQuery, GraphStore, IncidentQuery, WriteTx
from collector.observation import Inventory, Observation
from rules.context import Decision, Policy, Route
from rules.loader import parse_rules
from rules.persist import evaluate_in
from rules.view import StoreGraphView
from tests.conftest import Clock, StoreFactory
from tests.contract.estate import build_estate

MAC = "00:1a:2b:3c:4d:5e"


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


DOWN_RULES = parse_rules("""
rules:
  - name: host-down
    kind: state
    metric: host.reachability
    states: [down]
    severity: critical
""")
TO_DESK_POLICY = Policy(hold_down=timedelta(0),
                        route=lambda incident, ci: Route(("service-desk",), "Service Desk"))


def observe(store: GraphStore, ci_id: str, state: str, at: datetime) -> list[Decision]:
    observation = Observation(ci_id=ci_id, name="host.reachability", state=state,
                              observed_at=at, source="test")
    decisions, _ = store.write(lambda tx: evaluate_in(
        tx, DOWN_RULES, [observation], StoreGraphView(store), TO_DESK_POLICY, at))
    return decisions


def test_one_open_incident_per_fingerprint(store: GraphStore, clock: Clock) -> None:
    [r] = reconcile(store, [agent_inventory()], clock())
    for _ in range(3):
        observe(store, r.ci_id, "down", clock.advance(minutes=1))

    [incident] = store.list_incidents(IncidentQuery()).items
    assert incident.state == "new"
    assert incident.occurrences == 3
    assert incident.last_seen == clock()
    assert incident.notified
    assert incident.receivers == ("service-desk",)
    assert incident.assignment_group == "Service Desk"
    assert [(e.receiver, e.event) for e in store.outbox()] == [("service-desk", "opened")]
    kinds = [e.kind for e in store.incident_events(incident.id)]
    assert kinds[:2] == ["opened", "prioritised"]
    assert "notified" in kinds


def test_resolving_frees_the_fingerprint_and_notifies(store: GraphStore, clock: Clock) -> None:
    [r] = reconcile(store, [agent_inventory()], clock())
    observe(store, r.ci_id, "down", clock())
    observe(store, r.ci_id, "up", clock.advance(minutes=10))
    observe(store, r.ci_id, "down", clock.advance(hours=3))  # past the reopen window

    incidents = store.list_incidents(IncidentQuery()).items
    assert sorted(i.state for i in incidents) == ["new", "resolved"]
    resolved = next(i for i in incidents if i.state == "resolved")
    assert resolved.resolved_at == clock() - timedelta(hours=3)
    assert [e.event for e in store.outbox()] == ["opened", "resolved", "opened"]
    assert store.outbox()[1].payload["incident"]["state"] == "resolved"  # type: ignore[index]
    assert store.get_incident(resolved.id) == resolved
    assert len(store.list_incidents(IncidentQuery(state="open", ci_id=r.ci_id)).items) == 1
    kinds = [e.kind for e in store.incident_events(resolved.id)]
    assert kinds[0] == "opened"
    assert "resolved" in kinds
    assert "notified" in kinds


def test_a_recurrence_reopens_the_same_incident(store: GraphStore, clock: Clock) -> None:
    [r] = reconcile(store, [agent_inventory()], clock())
    observe(store, r.ci_id, "down", clock())
    observe(store, r.ci_id, "up", clock.advance(minutes=10))
    observe(store, r.ci_id, "down", clock.advance(minutes=10))
    [incident] = store.list_incidents(IncidentQuery()).items
    assert incident.state == "reopened"
    assert incident.reopen_count == 1
    assert incident.resolved_at is None


def test_rule_states_persist_and_come_due(store: GraphStore, clock: Clock) -> None:
    from cmdb.records import RuleState

    soon, later = clock.advance(minutes=5), clock() + timedelta(hours=1)
    store.write(lambda tx: tx.save_rule_states([
        RuleState("fp-1", "host-silent", "ci-1", {"last_data_at": "x"}, soon),
        RuleState("fp-2", "host-silent", "ci-2", {}, later)]))
    loaded = store.write(lambda tx: tx.load_rule_states(["fp-1", "fp-3"]))
    assert list(loaded) == ["fp-1"]
    assert loaded["fp-1"].data == {"last_data_at": "x"}
    due = store.write(lambda tx: tx.due_rule_states(clock(), 10))
    assert [s.fingerprint for s in due] == ["fp-1"]
    store.write(lambda tx: tx.drop_rule_states(["fp-1"]))
    assert store.write(lambda tx: tx.due_rule_states(later, 10))[0].fingerprint == "fp-2"


def test_children_and_filters(store: GraphStore, clock: Clock) -> None:
    ids = build_estate(store, clock())
    for name in ("pc-1", "pc-2", "access-sw"):
        observe(store, ids[name], "down", clock())
    [root] = store.list_incidents(IncidentQuery(root_only=True)).items
    assert root.ci_id == ids["access-sw"]
    children = store.list_incidents(IncidentQuery(parent_id=root.id)).items
    assert sorted(c.ci_id for c in children) == sorted([ids["pc-1"], ids["pc-2"]])
    assert children[0].caused_by == ((ids["access-sw"], "CONNECTED_TO"),)
    # pc-1 and pc-2 were notified before their switch failed (no hold-down here);
    # the switch's incident is notified, its children are not notified again.
    assert [e.event for e in store.outbox()] == ["opened", "opened", "opened"]
    assert len(store.list_incidents(IncidentQuery(assignment_group="Service Desk")).items) >= 1


def test_concurrent_openers_make_one_incident(store_factory: StoreFactory, clock: Clock
                                              ) -> None:
    stores = [store_factory(), store_factory()]
    [r] = reconcile(stores[0], [agent_inventory()], clock())
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def opener(store: GraphStore) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                observe(store, r.ci_id, "down", clock())
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


def test_a_shared_uuid_does_not_merge_two_machines(store: GraphStore, clock: Clock) -> None:
    uuid = "4c4c4544-0042-3010-8052-b4c04f4b4d32"  # one golden image, cloned
    first = Inventory("agent", "Server", {"serial": "SRV-A-0001", "uuid": uuid,
                                          "hostname": "app-a"}, {"serial": "SRV-A-0001"})
    second = Inventory("agent", "Server", {"serial": "SRV-B-0002", "uuid": uuid,
                                           "hostname": "app-b"}, {"serial": "SRV-B-0002"})
    [a] = reconcile(store, [first], clock())
    [b] = reconcile(store, [second], clock())

    assert a.ci_id != b.ci_id
    assert [(c.chosen_ci_id, c.other_ci_id, c.key) for c in store.conflicts()] == [
        (b.ci_id, a.ci_id, f"uuid:{uuid}")]
    assert len(store.list_cis(CIQuery()).items) == 2
