"""PagerDuty Events API v2 receiver (developer.pagerduty.com, "Send an Alert Event").

`POST /v2/enqueue` with `routing_key` (the service integration key), `event_action`
trigger / acknowledge / resolve, and `dedup_key` = the incident fingerprint, so
PagerDuty itself folds a retried trigger into the alert the first one opened and a
resolve finds it. Per the API's response table: 202 accepted; 400 is not retried (a
dead letter); 429, 5xx and network errors are retried.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from rules.notify.model import IncidentSnapshot, Notification, Receipt
from rules.notify.receiver import Clock, utc_now
from rules.notify.redact import Redactor, Secret
from rules.notify.render import links
from rules.notify.settings import Fields, ReceiverSettings
from rules.notify.transport import ClientPool, call

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SUMMARY_LIMIT = 1024
DEDUP_LIMIT = 255
SEVERITY = {"critical": "critical", "major": "error", "minor": "warning",
            "warning": "warning", "info": "info"}
PD_SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = {"resolved": "resolve", "acknowledged": "acknowledge"}


@dataclass(frozen=True, kw_only=True)
class PagerDutySettings(ReceiverSettings):
    """`routing_key_env` names the variable holding the 32-character integration key;
    `severities` overrides the opsgraph -> PagerDuty severity map."""

    routing_key: Secret
    url: str = EVENTS_URL
    client: str = "opsgraph"
    client_url: str | None = None
    severities: dict[str, str] = field(default_factory=lambda: dict(SEVERITY))
    links: dict[str, str] = field(default_factory=dict)


def parse_settings(fields: Fields) -> PagerDutySettings:
    routing_key = fields.secret("routing_key")
    if len(routing_key.reveal()) != 32:
        fields.fail("routing_key_env", "must hold a 32-character integration key")
    severities = {**SEVERITY, **fields.mapping("severities")}
    if any(v not in PD_SEVERITIES for v in severities.values()):
        fields.fail("severities", f"values must be one of {', '.join(PD_SEVERITIES)}")
    client_url = fields.opt_text("client_url")
    return PagerDutySettings(
        **fields.common(), routing_key=routing_key, url=fields.url("url", EVENTS_URL),
        client=fields.text("client", "opsgraph"),
        client_url=fields.check_url("client_url", client_url) if client_url else None,
        severities=severities, links=fields.mapping("links"))


def dedup_key(fingerprint: str) -> str:
    """The fingerprint, or its SHA-256 when it is longer than PagerDuty allows."""
    if len(fingerprint) <= DEDUP_LIMIT:
        return fingerprint
    return "sha256:" + hashlib.sha256(fingerprint.encode()).hexdigest()


def event_body(settings: PagerDutySettings, notification: Notification,
               incident: IncidentSnapshot) -> dict[str, Any]:
    """The Events API v2 request body (without the routing key)."""
    action = ACTIONS.get(notification.event, "trigger")
    body: dict[str, Any] = {"event_action": action,
                            "dedup_key": dedup_key(incident.fingerprint)}
    if action != "trigger":
        return body
    summary = incident.summary or f"{incident.rule} on {incident.ci.name}"
    body["payload"] = {
        "summary": summary[:SUMMARY_LIMIT],
        "source": incident.ci.name or incident.ci.id,
        "severity": settings.severities.get(incident.severity, "error"),
        "timestamp": notification.created_at.isoformat(),
        "component": incident.labels.get("component") or incident.ci.ci_class or None,
        "class": incident.rule,
        "custom_details": {"incident_id": incident.id, "ci_id": incident.ci.id,
                           "occurrences": incident.occurrences, "value": incident.value,
                           "labels": incident.labels},
    }
    body["payload"] = {k: v for k, v in body["payload"].items() if v is not None}
    body["client"] = settings.client
    if settings.client_url:
        body["client_url"] = settings.client_url
    link_map = links(settings.links, incident)
    if link_map:
        body["links"] = [{"href": url, "text": name} for name, url in sorted(link_map.items())]
    return body


class PagerDutyReceiver:
    def __init__(self, settings: PagerDutySettings, clock: Clock = utc_now) -> None:
        self.name = settings.name
        self.max_in_flight = settings.max_in_flight
        self._settings = settings
        self._clock = clock
        self._clients = ClientPool(settings.timeout)
        self._redact = Redactor(self.secrets())

    def secrets(self) -> list[str]:
        return [self._settings.routing_key.reveal()]

    async def deliver(self, notification: Notification) -> Receipt:
        body = event_body(self._settings, notification, notification.incident())
        body["routing_key"] = self._settings.routing_key.reveal()
        response = await call(self._clients, "POST", self._settings.url, json=body,
                              redact=self._redact, clock=self._clock)
        return Receipt(response.status_code)

    async def aclose(self) -> None:
        await self._clients.aclose()
