"""Relationships, impact analysis and freshness: the same answers from every store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cmdb.errors import InvalidModel, NotFound, UnknownRelationship
from cmdb.freshness import age_out
from cmdb.impact import dependencies, impact
from cmdb.reconcile import reconcile
from cmdb.relations import Link, relate, unrelate
from cmdb.store import GraphStore
from collector.observation import Inventory
from tests.conftest import Clock
from tests.contract.estate import build_estate


def names(store: GraphStore, ids: list[str]) -> list[str]:
    found = store.get_cis(ids)
    return [found[i].name for i in ids]


def test_relationships_carry_properties_and_sources(store: GraphStore, clock: Clock) -> None:
    ids = build_estate(store, clock())
    rels = store.relationships(ids["pc-1"])
    assert [(r.type, r.to_id, r.properties) for r in rels] == [
        ("CONNECTED_TO", ids["access-sw"], {"port": "Fa0/1"})]
    assert set(rels[0].sources) == {"import"}
    relate(store, [Link(ids["pc-1"], "CONNECTED_TO", ids["access-sw"], {"port": "Fa0/1"})],
           "snmp", clock.advance(hours=1))
    [again] = store.relationships(ids["pc-1"])
    assert set(again.sources) == {"import", "snmp"}
    assert again.last_seen == clock()
    assert len(store.relationships(ids["access-sw"])) == 4


def test_the_model_refuses_what_it_does_not_declare(store: GraphStore, clock: Clock) -> None:
    ids = build_estate(store, clock())
    with pytest.raises(InvalidModel, match="may not be RUNS_ON"):
        relate(store, [Link(ids["pc-1"], "RUNS_ON", ids["core-sw"])], "api", clock())
    with pytest.raises(UnknownRelationship):
        relate(store, [Link(ids["pc-1"], "LOVES", ids["core-sw"])], "api", clock())
    with pytest.raises(InvalidModel, match="no property 'colour'"):
        relate(store, [Link(ids["pc-1"], "CONNECTED_TO", ids["core-sw"], {"colour": "red"})],
               "api", clock())
    with pytest.raises(NotFound):
        relate(store, [Link(ids["pc-1"], "CONNECTED_TO", "missing")], "api", clock())


def test_unrelate_deletes(store: GraphStore, clock: Clock) -> None:
    ids = build_estate(store, clock())
    assert unrelate(store, [(ids["pc-1"], "CONNECTED_TO", ids["access-sw"])]) == 1
    assert store.relationships(ids["pc-1"]) == []
    assert unrelate(store, [(ids["pc-1"], "CONNECTED_TO", ids["access-sw"])]) == 0


def test_core_switch_impact_reaches_hosts_apps_and_the_business_service(
        store: GraphStore, clock: Clock) -> None:
    ids = build_estate(store, clock())
    report = impact(store, ids["core-sw"])

    by_name = {a.name: a for a in report.affected}
    assert set(by_name) == {"access-sw", "app-srv", "db-1", "pc-1", "pc-2", "pc-3", "crm",
                            "sales"}
    assert by_name["pc-2"].depth == 2
    assert by_name["pc-2"].status == "down"
    assert [(s.ci_id, s.relationship) for s in by_name["pc-2"].path] == [
        (ids["access-sw"], "CONNECTED_TO"), (ids["pc-2"], "CONNECTED_TO")]
    # crm runs on app-srv, which is down: down, whatever its databases do.
    assert by_name["crm"].status == "down"
    assert [(s.name, s.status, s.criticality, s.users) for s in report.services] == [
        ("sales", "down", "high", 250)]
    assert not report.truncated


def test_one_redundant_member_down_degrades_instead_of_downing(store: GraphStore,
                                                               clock: Clock) -> None:
    ids = build_estate(store, clock())
    report = impact(store, ids["db-2"])
    assert [(a.name, a.status) for a in report.affected] == [("crm", "degraded"),
                                                             ("sales", "degraded")]
    assert [(s.name, s.status) for s in report.services] == [("sales", "degraded")]


def test_depth_limits_the_walk_and_says_so(store: GraphStore, clock: Clock) -> None:
    ids = build_estate(store, clock())
    report = impact(store, ids["core-sw"], depth=1)
    assert sorted(a.name for a in report.affected) == ["access-sw", "app-srv", "db-1"]
    assert report.truncated


def test_dependencies_are_the_reverse_walk(store: GraphStore, clock: Clock) -> None:
    ids = build_estate(store, clock())
    root, found = dependencies(store, ids["sales"])
    assert root.name == "sales"
    assert [(ci.name, depth) for ci, depth, _ in found] == sorted(
        [("crm", 1), ("app-srv", 2), ("db-1", 2), ("db-2", 2), ("core-sw", 3)],
        key=lambda pair: (pair[1], ids[pair[0]]))


def test_impact_of_an_unknown_ci_is_not_found(store: GraphStore) -> None:
    with pytest.raises(NotFound):
        impact(store, "missing")


def test_unseen_cis_go_stale_then_retired_and_come_back(store: GraphStore, clock: Clock
                                                        ) -> None:
    ids = build_estate(store, clock())
    inventory = Inventory("agent", "Computer", {"hostname": "pc-1"}, {})
    clock.advance(days=10)
    reconcile(store, [inventory], clock())  # pc-1 is seen again, the rest are not

    assert age_out(store, clock(), timedelta(days=7), timedelta(days=30)).stale == 7
    assert store.get_ci(ids["pc-2"]).status == "stale"  # type: ignore[union-attr]
    assert store.get_ci(ids["pc-1"]).status == "active"  # type: ignore[union-attr]
    assert store.get_ci(ids["crm"]).status == "active"  # type: ignore[union-attr]  modelled

    clock.advance(days=25)
    result = age_out(store, clock(), timedelta(days=7), timedelta(days=30))
    assert (result.retired, result.stale) == (7, 1)
    assert store.get_ci(ids["pc-2"]).status == "retired"  # type: ignore[union-attr]

    reconcile(store, [Inventory("agent", "Computer", {"hostname": "pc-2"}, {})], clock())
    assert store.get_ci(ids["pc-2"]).status == "active"  # type: ignore[union-attr]
    statuses = [(h.old, h.new) for h in store.history(ids["pc-2"]) if h.attribute == "status"]
    assert statuses == [("active", "stale"), ("stale", "retired"), ("retired", "active")]
