"""Service model import/export on every store: idempotent, and export round-trips."""

from __future__ import annotations

from pathlib import Path

from cmdb.impact import impact
from cmdb.service_model import apply_model, export_model, load_model, parse_yaml
from cmdb.store import CIQuery, GraphStore
from tests.conftest import Clock

EXAMPLE = Path(__file__).resolve().parents[2] / "etc" / "service-model.example.yaml"


def snapshot(store: GraphStore) -> tuple[list[tuple[str, str]], int]:
    cis = store.list_cis(CIQuery(limit=1000)).items
    rels = sum(len(store.relationships(ci.id)) for ci in cis)
    return sorted((ci.ci_class, ci.name) for ci in cis), rels


def test_import_is_idempotent(store: GraphStore, clock: Clock) -> None:
    model = load_model(EXAMPLE)
    first = apply_model(store, model, clock())
    before = snapshot(store)
    second = apply_model(store, model, clock.advance(hours=1))

    assert first == second
    assert snapshot(store) == before
    assert len(before[0]) == 7
    db = store.get_ci(first["Server/db-01"])
    assert db is not None
    assert [h.attribute for h in store.history(db.id)] == ["name"]  # nothing changed again


def test_imported_model_drives_impact(store: GraphStore, clock: Clock) -> None:
    ids = apply_model(store, load_model(EXAMPLE), clock())
    report = impact(store, ids["Server/db-01"])
    assert [(s.name, s.status) for s in report.services] == [("Online sales", "degraded")]
    report = impact(store, ids["Server/web-01"])
    assert [(s.name, s.status, s.users) for s in report.services] == [
        ("Online sales", "down", 1200)]


def test_export_round_trips(store: GraphStore, clock: Clock) -> None:
    apply_model(store, load_model(EXAMPLE), clock())
    exported = export_model(store)
    model = parse_yaml(exported, "<export>")
    assert len(model.cis) == 7
    assert len(model.relationships) == 6
    before = snapshot(store)
    apply_model(store, model, clock.advance(days=1))
    assert snapshot(store) == before
