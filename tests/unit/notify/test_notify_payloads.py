"""What each receiver sends, built from the sample payloads in tests/data/notify: the
vendor fields and limits each API documents."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rules.notify.errors import PermanentDeliveryError
from rules.notify.jira import JiraSettings, issue_fields
from rules.notify.mail import EmailSettings, compose
from rules.notify.model import IncidentSnapshot, Notification
from rules.notify.pagerduty import PagerDutySettings, dedup_key, event_body
from rules.notify.redact import Secret
from rules.notify.servicenow import urgency_impact
from rules.notify.webhook import sign, signing_key, webhook_body

DATA = Path(__file__).parents[2] / "data" / "notify"
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


OUTBOX_ID = "3c1d5e0f-0b1a-4d2e-9f3a-6b7c8d9e0f1a"


def sample(name: str, event: str | None = None, outbox_id: str = OUTBOX_ID) -> Notification:
    payload = json.loads((DATA / name).read_text())
    return Notification(outbox_id, 7, payload["incident"]["id"], "r", event or payload["event"],
                        datetime(2026, 11, 23, 12, 1, tzinfo=UTC), payload)


def test_a_full_payload_reads_into_a_snapshot() -> None:
    incident = sample("opened.json").incident()

    assert (incident.ci.name, incident.ci.ci_class, incident.priority, incident.urgency) == (
        "db-01.corp.example", "Server", 2, "2")
    assert incident.assignment_group == "Database Operations"


def test_a_minimal_payload_reads_with_defaults() -> None:
    incident = sample("opened-minimal.json").incident()

    assert incident.ci.name == "ci-9a01"  # no CI object: the id stands in for the name
    assert (incident.priority, incident.urgency, incident.assignment_group) == (None, None, None)


def test_a_payload_without_an_incident_id_is_a_permanent_failure() -> None:
    broken = Notification("x", 1, "i", "r", "opened", datetime.now(UTC),
                          {"incident": {"fingerprint": "f"}})
    with pytest.raises(PermanentDeliveryError, match=r"incident\.id is missing"):
        broken.incident()


def pd_settings() -> PagerDutySettings:
    return PagerDutySettings(name="pd", routing_key=Secret("R" * 32),
                             links={"opsgraph": "https://og.example/v1/incidents/{incident_id}"})


def test_pagerduty_trigger_carries_the_documented_fields() -> None:
    notification = sample("opened.json")
    body = event_body(pd_settings(), notification, notification.incident())

    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "filesystem-full|ci-7d2f|/var"
    assert body["payload"]["severity"] == "error"  # major -> error
    assert body["payload"]["source"] == "db-01.corp.example"
    assert body["payload"]["summary"] == "db-01.corp.example: filesystem /var is 93% full"
    assert body["payload"]["timestamp"] == "2026-11-23T12:01:00+00:00"
    assert body["links"] == [{"href": "https://og.example/v1/incidents/"
                                      "6f1c9a52-3d4e-4b8a-9c1f-2a7e5d0b8c31", "text": "opsgraph"}]
    assert "routing_key" not in body  # added at send time only


def test_pagerduty_resolve_names_only_the_alert() -> None:
    notification = sample("resolved.json")
    body = event_body(pd_settings(), notification, notification.incident())

    assert body == {"event_action": "resolve", "dedup_key": "filesystem-full|ci-7d2f|/var"}


def test_pagerduty_limits_are_kept() -> None:
    long_fingerprint = "x" * 300

    assert len(dedup_key(long_fingerprint)) <= 255
    assert dedup_key(long_fingerprint) == dedup_key(long_fingerprint)
    notification = sample("opened-minimal.json")
    notification.payload["incident"]["summary"] = "s" * 2000  # type: ignore[index]
    body = event_body(pd_settings(), notification, notification.incident())
    assert len(body["payload"]["summary"]) == 1024
    assert body["payload"]["severity"] == "critical"


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes, now: int) -> bool:
    """The Standard Webhooks verification, written from the spec, not from our code."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now - int(timestamp)) > 300:
        return False
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body,
                                         hashlib.sha256).digest()).decode()
    return any(sig.startswith("v1,") and hmac.compare_digest(sig[3:], expected)
               for sig in headers["webhook-signature"].split(" "))


def test_webhook_signature_verifies_with_the_standard_algorithm() -> None:
    notification = sample("opened.json")
    body = webhook_body(notification, notification.incident(), {})
    key = signing_key(SECRET)
    assert key is not None
    headers = {"webhook-id": notification.outbox_id, "webhook-timestamp": "1795435260",
               "webhook-signature": sign(key, notification.outbox_id, 1795435260, body)}

    assert verify_standard_webhook(SECRET, headers, body, now=1795435261)
    assert not verify_standard_webhook(SECRET, headers, body.replace(b"93", b"12"), 1795435261)
    other = "whsec_" + base64.b64encode(b"z" * 32).decode()
    assert not verify_standard_webhook(other, headers, body, now=1795435261)


def test_webhook_secrets_must_be_whsec_base64_of_24_to_64_bytes() -> None:
    assert signing_key(SECRET) == bytes(range(32))
    assert signing_key("whsec_" + base64.b64encode(b"short").decode()) is None
    assert signing_key(base64.b64encode(b"k" * 32).decode()) is None
    assert signing_key("whsec_not base64!") is None


def test_webhook_body_has_type_incident_ci_impact_and_links() -> None:
    notification = sample("opened.json")
    body = json.loads(webhook_body(notification, notification.incident(),
                                   {"ci": "https://og.example/v1/cis/{ci_id}"}))

    assert body["type"] == "incident.opened"
    data = body["data"]
    assert data["incident"]["priority_reasons"][0].startswith("impact 1")  # passed through
    assert data["ci"] == {"id": "ci-7d2f", "name": "db-01.corp.example", "class": "Server"}
    assert data["impact"]["priority"] == 2
    assert data["links"] == {"ci": "https://og.example/v1/cis/ci-7d2f"}


def snapshot(**changes: object) -> IncidentSnapshot:
    base = sample("opened.json").incident()
    return IncidentSnapshot(**{**{f: getattr(base, f) for f in base.__dataclass_fields__},
                               **changes})


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, ("2", "1")),  # priority 2 at urgency 2: impact 1 in the ITIL matrix
    ({"impact": "3"}, ("2", "3")),
    ({"urgency": None, "priority": None, "severity": "critical"}, ("1", "1")),
    ({"urgency": None, "priority": 5}, ("3", "3")),
    ({"urgency": "7", "priority": 4}, ("2", "3")),
])
def test_servicenow_urgency_and_impact(changes: dict[str, object],
                                       expected: tuple[str, str]) -> None:
    assert urgency_impact(snapshot(**changes)) == expected


def jira_settings(version: int) -> JiraSettings:
    return JiraSettings(name="jira", base_url="https://j", project_key="OPS", issue_type="Task",
                        token=Secret("t"), username="u", api_version=version,
                        labels=("monitoring",))


def test_jira_v2_fields_use_plain_text() -> None:
    notification = sample("opened.json")
    fields = issue_fields(jira_settings(2), notification, notification.incident())

    assert fields["project"] == {"key": "OPS"}
    assert fields["issuetype"] == {"name": "Task"}
    assert fields["priority"] == {"name": "High"}
    assert fields["labels"] == ["opsgraph", "opsgraph-6f1c9a52-3d4e-4b8a-9c1f-2a7e5d0b8c31",
                                "monitoring"]
    assert "Incident:    6f1c9a52-3d4e-4b8a-9c1f-2a7e5d0b8c31" in fields["description"]


def test_jira_v3_description_is_an_atlassian_document() -> None:
    notification = sample("opened.json")
    description = issue_fields(jira_settings(3), notification,
                               notification.incident())["description"]

    assert description["type"] == "doc"
    assert description["version"] == 1
    texts = [p["content"][0]["text"] for p in description["content"]]
    assert texts[0] == "db-01.corp.example: filesystem /var is 93% full"
    assert all(text.strip() for text in texts)  # ADF refuses empty text nodes


def test_email_is_readable_and_threads_an_incident() -> None:
    settings = EmailSettings(name="mail", host="h", sender="og@example.com",
                             recipients=("desk@example.com",))
    opened = compose(settings, sample("opened.json"))
    closed = compose(settings, sample("resolved.json", outbox_id="99"))

    assert opened["Subject"] == ("[opsgraph] OPENED [major] "
                                 "db-01.corp.example: filesystem /var is 93% full")
    assert opened["Message-ID"] == "<3c1d5e0f-0b1a-4d2e-9f3a-6b7c8d9e0f1a@opsgraph>"
    assert opened["References"] == closed["References"]
    text = opened.get_content()
    assert "CI:          db-01.corp.example (Server, ci-7d2f)" in text
    assert "Severity:    major (priority 2)" in text
    assert "The /var filesystem holds the PostgreSQL WAL." in text
    assert "Resolved at: 2026-11-23T12:40:00+00:00" in closed.get_content()
