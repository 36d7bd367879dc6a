"""Text every human-facing receiver shares: titles, plain-text descriptions, links and
the priority an incident maps to. Pure functions of the snapshot."""

from __future__ import annotations

import re
from collections.abc import Mapping

from rules.notify.model import IncidentSnapshot

SEVERITY_PRIORITY = {"critical": 1, "major": 2, "minor": 3, "warning": 4, "info": 5}
"""Priority (1 highest .. 5 lowest) of an incident whose payload names none."""

_PLACEHOLDER = re.compile(r"\{(incident_id|ci_id|fingerprint|rule)\}")


def priority_of(incident: IncidentSnapshot) -> int:
    if incident.priority is not None and 1 <= incident.priority <= 5:
        return incident.priority
    return SEVERITY_PRIORITY.get(incident.severity, 3)


def title(incident: IncidentSnapshot, limit: int) -> str:
    text = incident.summary or f"{incident.rule} on {incident.ci.name}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def links(templates: Mapping[str, str], incident: IncidentSnapshot) -> dict[str, str]:
    """Link templates with `{incident_id}`, `{ci_id}`, `{fingerprint}`, `{rule}` filled."""
    values = {"incident_id": incident.id, "ci_id": incident.ci.id,
              "fingerprint": incident.fingerprint, "rule": incident.rule}
    return {name: _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
            for name, template in templates.items()}


def describe(incident: IncidentSnapshot, event: str, link_map: Mapping[str, str]) -> str:
    """A readable plain-text account of the incident, for tickets and email."""
    ci = incident.ci
    ci_line = f"{ci.name} ({ci.ci_class}, {ci.id})" if ci.ci_class else f"{ci.name} ({ci.id})"
    lines = [
        incident.summary or incident.rule,
        "",
        f"Event:       {event}",
        f"Incident:    {incident.id}",
        f"Rule:        {incident.rule}",
        f"Severity:    {incident.severity} (priority {priority_of(incident)})",
        f"CI:          {ci_line}",
        f"Opened at:   {incident.opened_at}",
    ]
    if incident.resolved_at:
        lines.append(f"Resolved at: {incident.resolved_at}")
    lines.append(f"Occurrences: {incident.occurrences}")
    if incident.value is not None:
        lines.append(f"Last value:  {incident.value:g}")
    if incident.labels:
        lines.append("Labels:      " + ", ".join(
            f"{k}={v}" for k, v in sorted(incident.labels.items())))
    if incident.description:
        lines += ["", incident.description]
    if link_map:
        lines += ["", *(f"{name}: {url}" for name, url in sorted(link_map.items()))]
    lines += ["", f"Fingerprint: {incident.fingerprint}", "Sent by opsgraph."]
    return "\n".join(lines)
