"""PagerDuty's Events API v2 `/v2/enqueue` as documented: 202 with a dedup_key, 400
for an invalid event (routing key length, action, required payload fields, limits),
alerts keyed by (routing_key, dedup_key), triggers folded into an open alert."""

from __future__ import annotations

from typing import Any

from tests.integration.notify.fake_http import FakeVendor, Reply, Request

ROUTING_KEY = "R0123456789abcdef0123456789abcde"
SEVERITIES = {"critical", "error", "warning", "info"}


class FakePagerDuty(FakeVendor):
    def __init__(self) -> None:
        super().__init__()
        self.alerts: dict[str, dict[str, Any]] = {}
        self.rejected: list[dict[str, Any]] = []

    def respond(self, request: Request) -> Reply:
        if request.path != "/v2/enqueue" or request.method != "POST":
            return Reply(404, {"status": "not found"})
        event = request.json()
        errors = self.validate(event)
        if errors:
            self.rejected.append(event)
            return Reply(400, {"status": "invalid event", "message": "Event object is invalid",
                               "errors": errors})
        key = event["dedup_key"]
        alert = self.alerts.get(key)
        if event["event_action"] == "trigger":
            if alert is None or alert["status"] == "resolved":
                self.alerts[key] = {"status": "triggered", "triggers": 1,
                                    "summary": event["payload"]["summary"]}
            else:
                alert["triggers"] += 1
        elif alert is not None and alert["status"] != "resolved":
            acknowledged = event["event_action"] == "acknowledge"
            alert["status"] = "acknowledged" if acknowledged else "resolved"
        return Reply(202, {"status": "success", "message": "Event processed", "dedup_key": key})

    @staticmethod
    def validate(event: dict[str, Any]) -> list[str]:
        errors = []
        if len(str(event.get("routing_key", ""))) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid")
        if len(str(event.get("dedup_key", ""))) > 255:
            errors.append("'dedup_key' is too long")
        if event.get("event_action") == "trigger":
            payload = event.get("payload") or {}
            for name in ("summary", "source", "severity"):
                if not payload.get(name):
                    errors.append(f"'payload.{name}' is missing or blank")
            if len(str(payload.get("summary", ""))) > 1024:
                errors.append("'payload.summary' is too long")
            if payload.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' is invalid")
        return errors


class WebhookSink(FakeVendor):
    """Accepts every POST with 200 (or `status`), keeping headers and raw bodies."""

    def __init__(self, status: int = 200) -> None:
        super().__init__()
        self.status = status

    def respond(self, request: Request) -> Reply:
        return Reply(self.status, {"ok": self.status < 300})
