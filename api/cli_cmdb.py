"""`opsgraph cmdb import|export` and `opsgraph impact`: CMDB commands for operators."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from cmdb.impact import ImpactReport, impact
from cmdb.records import ConfigurationItem
from cmdb.service_model import apply_model, export_model, load_model
from cmdb.store import CIQuery, GraphStore


def import_model(store: GraphStore, path: Path) -> int:
    model = load_model(path)  # validates the whole file before anything is written
    ids = apply_model(store, model, datetime.now(UTC))
    print(f"{path}: {len(ids)} CIs and {len(model.relationships)} relationships applied")
    return 0


def export(store: GraphStore, path: Path | None) -> int:
    text = export_model(store)
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return 0


def find_by_name(store: GraphStore, name: str) -> ConfigurationItem:
    """The one CI called `name` (exactly, case-insensitive), or its id."""
    exact = store.get_ci(name)
    if exact is not None:
        return exact
    matches = [ci for ci in store.list_cis(CIQuery(name_contains=name, limit=1000)).items
               if ci.name.lower() == name.lower()]
    if len(matches) != 1:
        found = ", ".join(f"{c.ci_class}/{c.name} ({c.id})" for c in matches[:5])
        raise LookupError(f"{len(matches)} CIs are called {name!r}" +
                          (f": {found}; give an id" if matches else ""))
    return matches[0]


def print_impact(store: GraphStore, name: str, depth: int) -> int:
    root = find_by_name(store, name)
    report = impact(store, root.id, depth)
    sys.stdout.write(render_impact(report))
    return 0


def render_impact(report: ImpactReport) -> str:
    names = {a.ci_id: a.name for a in report.affected}
    names[report.root.id] = report.root.name
    lines = [f"If {report.root.ci_class} {report.root.name} fails:"]
    if report.services:
        lines.append("  business services:")
        lines.extend(
            f"    {s.status.upper():9} {s.name}"
            + (f"  (criticality {s.criticality})" if s.criticality else "")
            + (f"  ({s.users} users)" if s.users is not None else "")
            for s in report.services)
    lines.append(f"  affected CIs ({len(report.affected)}):")
    for a in report.affected:
        via = " <- ".join([report.root.name, *(f"{s.relationship} {names.get(s.ci_id, s.ci_id)}"
                                               for s in a.path)])
        lines.append(f"    {a.status:9} {a.ci_class:15} {a.name:30} {via}")
    if not report.affected:
        lines.append("    none")
    if report.truncated:
        lines.append(f"  (more beyond depth {report.depth}: use --depth)")
    return "\n".join(lines) + "\n"
