"""Generic webhook receiver following Standard Webhooks 1.0
(github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md).

Each delivery is a JSON POST with the headers
  webhook-id         the outbox entry id: the same on every retry (an idempotency key)
  webhook-timestamp  integer Unix seconds of this attempt
  webhook-signature  `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>`, keyed with
                     the base64-decoded part of a `whsec_` secret
and a body `{"type": "incident.<event>", "timestamp": ..., "data": {...}}` carrying
the incident, its CI, impact and links. 2xx is success; 408, 429 and 5xx are
retried (honouring Retry-After); anything else, 410 Gone included, is a dead letter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field

from rules.notify.model import IncidentSnapshot, Notification, Receipt
from rules.notify.receiver import Clock, utc_now
from rules.notify.redact import Redactor, Secret
from rules.notify.render import links, priority_of
from rules.notify.settings import Fields, ReceiverSettings
from rules.notify.transport import ClientPool, call

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)


@dataclass(frozen=True, kw_only=True)
class WebhookSettings(ReceiverSettings):
    """`url` (or `url_env` when the URL itself is a credential), an optional signing
    `secret_env`, and link templates (`{incident_id}`, `{ci_id}`, ...)."""

    url: Secret
    secret: Secret | None = None
    links: dict[str, str] = field(default_factory=dict)


def parse_settings(fields: Fields) -> WebhookSettings:
    url = fields.opt_secret("url")
    if url is not None:
        fields.check_url("url_env", url.reveal())
    else:
        url = Secret(fields.url("url"))
    secret = fields.opt_secret("secret")
    if secret is not None and signing_key(secret.reveal()) is None:
        fields.fail("secret_env", "must hold a Standard Webhooks secret: whsec_ followed by "
                                  "base64 of 24 to 64 random bytes")
    return WebhookSettings(**fields.common(), url=url, secret=secret,
                           links=fields.mapping("links"))


def signing_key(secret: str) -> bytes | None:
    """The HMAC key of a `whsec_<base64>` secret; None if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if 24 <= len(key) <= 64 else None


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value for one attempt."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def webhook_body(notification: Notification, incident: IncidentSnapshot,
                 link_templates: dict[str, str]) -> bytes:
    """The JSON body: minified and deterministic, so every retry sends the same bytes."""
    ci = incident.ci
    raw = notification.payload.get("incident")
    document = {
        "type": f"incident.{notification.event}",
        "timestamp": notification.created_at.isoformat(),
        "data": {
            "event": notification.event,
            # The incident as the rules engine described it, every key passed through.
            "incident": dict(raw) if isinstance(raw, dict) else {"id": incident.id},
            "ci": {"id": ci.id, "name": ci.name, "class": ci.ci_class},
            "impact": {"priority": priority_of(incident), "urgency": incident.urgency,
                       "impact": incident.impact, "severity": incident.severity,
                       "assignment_group": incident.assignment_group},
            "links": links(link_templates, incident),
        },
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class WebhookReceiver:
    """POSTs signed Standard Webhooks deliveries to one URL."""

    def __init__(self, settings: WebhookSettings, clock: Clock = utc_now) -> None:
        self.name = settings.name
        self.max_in_flight = settings.max_in_flight
        self._settings = settings
        self._clock = clock
        self._key = signing_key(settings.secret.reveal()) if settings.secret else None
        self._clients = ClientPool(settings.timeout)
        self._redact = Redactor(self.secrets())

    def secrets(self) -> list[str]:
        values = [self._settings.url.reveal()]
        if self._settings.secret is not None:
            values.append(self._settings.secret.reveal())
        return values

    async def deliver(self, notification: Notification) -> Receipt:
        body = webhook_body(notification, notification.incident(), self._settings.links)
        timestamp = int(self._clock().timestamp())
        headers = {"content-type": "application/json",
                   "webhook-id": notification.outbox_id,
                   "webhook-timestamp": str(timestamp)}
        if self._key is not None:
            headers["webhook-signature"] = sign(self._key, notification.outbox_id,
                                                timestamp, body)
        response = await call(self._clients, "POST", self._settings.url.reveal(),
                              content=body, headers=headers, redact=self._redact,
                              clock=self._clock)
        return Receipt(response.status_code)

    async def aclose(self) -> None:
        await self._clients.aclose()
