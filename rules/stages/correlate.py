"""Stage: correlate. Root cause on the CI graph, like Alertmanager's inhibition but
with the CMDB's topology instead of label matchers, and order-independent.

An incident whose CI is down because a CI it depends on has an open incident is
attached, as a child, to the incident of the upstream-most failed CI, with the path
between them. When the upstream incident arrives second, it adopts the open
incidents of the CIs that are down because of it. Redundancy is respected: one
failed member of a redundancy group leaves its dependents degraded, not down, so they
stay roots. Only incidents of rules with `root_cause: true` take part. New incidents
are held for the hold-down window before anything is notified, which is what lets
the parent arrive second without a storm of tickets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from cmdb.records import Incident
from rules.context import Evaluation
from rules.model import Rule
from rules.view import is_down


def correlate(ctx: Evaluation) -> None:
    rules = {r.name: r for r in ctx.rules}
    for incident_id in list(ctx.touched):
        incident = ctx.ledger.incident(incident_id)
        if incident is None or not incident.is_open or not _takes_part(incident, rules):
            continue
        if incident.parent_id is None:
            _find_parent(ctx, incident, rules)
        incident = ctx.ledger.incident(incident_id)
        if incident is not None and incident.parent_id is None:
            _adopt_children(ctx, incident, rules)


def _takes_part(incident: Incident, rules: Mapping[str, Rule]) -> bool:
    rule = rules.get(incident.rule)
    return rule is not None and rule.root_cause


def _find_parent(ctx: Evaluation, incident: Incident, rules: Mapping[str, Rule]) -> None:
    """Attach `incident` to the root incident explaining its CI being down, if any."""
    up = ctx.view.upstream(incident.ci_id)
    failed = {i.ci_id: i for i in ctx.ledger.open_on(set(up.depths) - {incident.ci_id})
              if _takes_part(i, rules)}
    if not failed:
        return
    if not is_down(up, failed):
        ctx.decide("degraded_by", incident.fingerprint, incident.id,
                   failed=tuple(sorted(failed)))
        return
    top = max(failed.values(), key=lambda i: (up.depths[i.ci_id], i.ci_id))
    root_id = top.parent_id or top.id
    if root_id in (incident.id, incident.parent_id):
        return
    ctx.ledger.remember(top)
    attach(ctx, incident, root_id, top.ci_id, up.path(top.ci_id, upstream=True))


def _adopt_children(ctx: Evaluation, incident: Incident, rules: Mapping[str, Rule]) -> None:
    """The parent arrived second: incidents below it that it explains move under it."""
    down = ctx.view.downstream(incident.ci_id)
    dependents = set(down.depths) - {incident.ci_id}
    if not dependents:
        return
    candidates = [i for i in ctx.ledger.open_on(dependents)
                  if _takes_part(i, rules) and i.parent_id != incident.id]
    parents = ctx.ledger.incidents_by_id({c.parent_id for c in candidates if c.parent_id})
    for candidate in candidates:
        parent = parents.get(candidate.parent_id or "")
        if parent is not None and parent.ci_id not in dependents:
            continue  # attached to a cause that is not below this one: keep it
        _find_parent(ctx, ctx.ledger.incident(candidate.id) or candidate, rules)


def attach(ctx: Evaluation, child: Incident, root_id: str, cause_ci: str,
           path: tuple[tuple[str, str], ...]) -> None:
    """Make `child` (and whatever was attached to it) a child of incident `root_id`."""
    updated = replace(child, parent_id=root_id, caused_by=path, version=child.version + 1)
    ctx.ledger.put(updated, ctx.event(updated, "attached", parent=root_id, cause_ci=cause_ci,
                                      path=[list(step) for step in path]))
    ctx.decide("attach", child.fingerprint, child.id, parent=root_id, cause_ci=cause_ci,
               path=path)
    for grandchild in ctx.ledger.children(child.id):
        if grandchild.is_open and grandchild.id != root_id:
            moved = replace(grandchild, parent_id=root_id, version=grandchild.version + 1)
            ctx.ledger.put(moved, ctx.event(moved, "attached", parent=root_id,
                                            cause_ci=cause_ci, via=child.id))
            ctx.decide("attach", moved.fingerprint, moved.id, parent=root_id,
                       cause_ci=cause_ci, path=moved.caused_by)
