"""Notification policy per receiver: which events it hears, and the templates for the
summary and description it is sent.

    receivers:
      jira-ops:
        type: jira
        events: [opened, resolved]            # default: all of EVENTS
        summary_template: "[{severity}] {ci}: {summary}"
        description_template: "{description}\n\nRunbook: https://wiki/{rule}"

An outbox entry for an event the receiver does not take is marked delivered without a
send (`PolicyReceiver`). Templates use the `{placeholder}` renderer of incident texts
(`rules.render.render`: names only, no format mini-language); they replace the
incident's summary and description in the payload, so every receiver builds its body
from the rendered text. What the engine already decides — children never notified,
reminders every repeat interval — is not repeated here.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from rules.notify.model import IncidentSnapshot, Notification, Receipt
from rules.notify.receiver import Receiver
from rules.render import render

log = logging.getLogger("opsgraph.notify")

EVENTS = ("opened", "resolved", "priority_changed", "escalated", "reminder", "acknowledged",
          "reopened")
"""The events the engine and operator actions queue."""

PLACEHOLDERS = frozenset({
    "event", "incident_id", "fingerprint", "rule", "ci", "ci_id", "ci_class", "state",
    "severity", "priority", "summary", "description", "opened_at", "resolved_at",
    "occurrences", "value", "assignment_group",
})
"""Names a template may use, besides `label.<name>`."""

_PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[A-Za-z0-9_]+)?)\}")


def unknown_placeholders(template: str) -> list[str]:
    """Placeholders in `template` that no incident fills (so a typo fails at load)."""
    return [name for name in _PLACEHOLDER.findall(template)
            if name not in PLACEHOLDERS and not name.startswith("label.")]


def template_fields(incident: IncidentSnapshot, event: str) -> dict[str, str]:
    """What a template's placeholders stand for, for one notification."""
    return {
        "event": event, "incident_id": incident.id, "fingerprint": incident.fingerprint,
        "rule": incident.rule, "ci": incident.ci.name, "ci_id": incident.ci.id,
        "ci_class": incident.ci.ci_class or "", "state": incident.state,
        "severity": incident.severity,
        "priority": "" if incident.priority is None else str(incident.priority),
        "summary": incident.summary, "description": incident.description or "",
        "opened_at": incident.opened_at, "resolved_at": incident.resolved_at or "",
        "occurrences": str(incident.occurrences),
        "value": "" if incident.value is None else f"{incident.value:g}",
        "assignment_group": incident.assignment_group or "",
        **{f"label.{k}": v for k, v in incident.labels.items()},
    }


@dataclass(frozen=True, slots=True)
class NotificationPolicy:
    """Which events a receiver hears and how its texts read; the default is all
    events, texts as the rule wrote them."""

    events: frozenset[str] = frozenset(EVENTS)
    summary_template: str | None = None
    description_template: str | None = None

    @property
    def is_default(self) -> bool:
        return self == NotificationPolicy()

    def wants(self, event: str) -> bool:
        return event in self.events

    def apply(self, notification: Notification) -> Notification:
        """`notification` with its summary and description rendered from the templates."""
        if self.summary_template is None and self.description_template is None:
            return notification
        raw = notification.payload.get("incident")
        if not isinstance(raw, dict):
            return notification  # the receiver parks a malformed payload itself
        fields = template_fields(notification.incident(), notification.event)
        incident = dict(raw)
        if self.summary_template is not None:
            incident["summary"] = render(self.summary_template, fields)[:1024]
        if self.description_template is not None:
            incident["description"] = render(self.description_template, fields)
        return replace(notification, payload={**notification.payload, "incident": incident})


class PolicyReceiver:
    """A receiver seen through its policy: events it does not take are accepted without
    a send (delivered, status None); the rest go out with the templates applied."""

    def __init__(self, receiver: Receiver, policy: NotificationPolicy) -> None:
        self.inner, self.policy = receiver, policy
        self.name, self.max_in_flight = receiver.name, receiver.max_in_flight

    def secrets(self) -> list[str]:
        return self.inner.secrets()

    async def deliver(self, notification: Notification) -> Receipt:
        if not self.policy.wants(notification.event):
            log.info("skipped %s %s of incident %s: %s does not take %s events",
                     notification.event, notification.outbox_id, notification.incident_id,
                     self.name, notification.event)
            return Receipt()
        return await self.inner.deliver(self.policy.apply(notification))

    async def aclose(self) -> None:
        await self.inner.aclose()


def with_policy(receiver: Receiver, policy: NotificationPolicy) -> Receiver:
    """`receiver` filtered by `policy`, or itself when the policy is the default."""
    return receiver if policy.is_default else PolicyReceiver(receiver, policy)
