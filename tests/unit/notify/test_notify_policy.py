"""Notification policy per receiver: the events filter (skipped entries are accepted
without a send) and the summary/description templates, read from the receivers file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from rules.notify.config import build_receivers, parse_receivers
from rules.notify.errors import ReceiverConfigError
from rules.notify.model import Notification, Receipt
from rules.notify.policy import EVENTS, NotificationPolicy, PolicyReceiver

PAYLOAD: dict[str, object] = {
    "event": "opened",
    "incident": {"id": "inc-1", "fingerprint": "fp-1", "rule": "filesystem-full",
                 "state": "new", "severity": "major", "priority": 2,
                 "summary": "pc-0042: /var is 93% full", "description": "from the rule",
                 "opened_at": "2026-11-23T12:00:00+00:00", "value": 93.0,
                 "labels": {"mountpoint": "/var"}},
    "ci": {"id": "ci-1", "name": "pc-0042", "class": "Server"},
}


def notification(event: str) -> Notification:
    return Notification("o-1", 1, "inc-1", "hooks", event, datetime(2026, 11, 23, tzinfo=UTC),
                        {**PAYLOAD, "event": event})


class Recording:
    name, max_in_flight = "hooks", 4

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def secrets(self) -> list[str]:
        return []

    async def deliver(self, notification: Notification) -> Receipt:
        self.sent.append(notification)
        return Receipt(202)

    async def aclose(self) -> None:
        pass


def receivers(extra: str) -> dict[str, Any]:
    text = f"receivers:\n  hooks:\n    type: webhook\n    url: https://h.example.com\n{extra}"
    return parse_receivers(text, "receivers.yaml", {})


@pytest.mark.parametrize(("events", "event", "sent"), [
    (EVENTS, "reminder", True),
    (("opened", "resolved"), "opened", True),
    (("opened", "resolved"), "resolved", True),
    (("opened", "resolved"), "reminder", False),
    (("opened", "resolved"), "priority_changed", False),
    ((), "opened", False),
])
def test_events_not_taken_are_accepted_without_a_send(events: tuple[str, ...], event: str,
                                                      sent: bool) -> None:
    inner = Recording()
    receiver = PolicyReceiver(inner, NotificationPolicy(frozenset(events)))

    receipt = asyncio.run(receiver.deliver(notification(event)))

    assert [n.event for n in inner.sent] == ([event] if sent else [])
    assert receipt == (Receipt(202) if sent else Receipt())


def test_templates_replace_summary_and_description_with_placeholders_filled() -> None:
    policy = NotificationPolicy(
        summary_template="[{severity}/P{priority}] {ci} {label.mountpoint}: {event}",
        description_template="{description}\nRunbook: https://wiki/{rule} ({value}%) {nope}")

    incident = policy.apply(notification("opened")).incident()

    assert incident.summary == "[major/P2] pc-0042 /var: opened"
    assert incident.description == (
        "from the rule\nRunbook: https://wiki/filesystem-full (93%) {nope}")


def test_no_templates_leave_the_payload_alone() -> None:
    original = notification("opened")
    assert NotificationPolicy().apply(original) is original


def test_the_receivers_file_sets_the_policy_and_build_applies_it() -> None:
    settings = receivers("    events: [opened, resolved]\n"
                         "    summary_template: '{ci}: {summary}'\n")["hooks"]
    assert settings.policy == NotificationPolicy(frozenset({"opened", "resolved"}),
                                                 "{ci}: {summary}")
    built = build_receivers({"hooks": settings})["hooks"]
    assert isinstance(built, PolicyReceiver)
    assert not isinstance(build_receivers(receivers(""))["hooks"], PolicyReceiver)


def test_default_policy_is_every_event() -> None:
    assert receivers("")["hooks"].policy.events == frozenset(EVENTS)


@pytest.mark.parametrize(("extra", "field", "reason"), [
    ("    events: [opened, paged]\n", "events", "'paged' is not an event"),
    ("    events: opened, resolved\n", "events", "is not an event"),
    ("    summary_template: '{ci} {sumary}'\n", "summary_template", "{sumary}"),
    ("    description_template: 3\n", "description_template", "non-empty string"),
])
def test_bad_policy_fields_fail_naming_the_field(extra: str, field: str, reason: str) -> None:
    with pytest.raises(ReceiverConfigError) as failure:
        receivers(extra)
    assert field in str(failure.value)
    assert reason in str(failure.value)
