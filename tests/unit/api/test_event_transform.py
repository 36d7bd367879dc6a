"""Alertmanager payloads and generic events to signals (pure): binding, dedup ids."""

from __future__ import annotations

import json

import pytest

from collector.event_model import AlertmanagerPayload, GenericEvent
from collector.events import HostBinding, alertmanager_signals, event_signal, host_of
from tests.integration.apiclient import DATA


@pytest.mark.parametrize(("value", "host"), [
    ("web01:9100", "web01"), ("WEB01.corp.example.:9100", "web01.corp.example"),
    ("[2001:db8::1]:9100", "2001:db8::1"), ("2001:db8::1", "2001:db8::1"),
    ("http://web01:8080/metrics", "web01"), ("192.0.2.1", "192.0.2.1"), (" ", None),
])
def test_host_of_strips_ports_schemes_and_case(value: str, host: str | None) -> None:
    assert host_of(value) == host


def test_alertmanager_signal_carries_labels_annotations_and_a_dedup_id() -> None:
    payload = AlertmanagerPayload.model_validate(
        json.loads((DATA / "alertmanager" / "firing.json").read_text()))

    [signal] = alertmanager_signals(payload, HostBinding())

    assert (signal.host, signal.ci_class, signal.metric, signal.state) == (
        "pc-0042.corp.example", "Server", "alertmanager.alert", "firing")
    assert signal.claim_id == "am:5c0d8a1e2f3b4c6d:2026-11-23T11:58:30.123000+00:00:firing"
    labels = dict(signal.labels)
    assert labels["alertname"] == "NodeFilesystemAlmostOutOfSpace"
    assert labels["annotation_summary"] == "Filesystem has less than 5% space left."


def test_configured_labels_and_unknown_classes() -> None:
    payload = AlertmanagerPayload.model_validate(
        json.loads((DATA / "alertmanager" / "firing.json").read_text()))
    payload.alerts[0].labels.update({"node": "sw-7", "ci_class": "Toaster"})

    [signal] = alertmanager_signals(payload, HostBinding(labels=("node",)))

    assert (signal.host, signal.ci_class) == ("sw-7", "Server")


def test_events_dedup_only_when_they_can_be_recognised() -> None:
    base = {"dedup_key": "k", "event_action": "trigger", "source": "h1"}
    assert event_signal(GenericEvent.model_validate(base), HostBinding()).claim_id is None
    stamped = GenericEvent.model_validate({**base, "timestamp": "2026-11-23T12:00:00Z"})
    assert event_signal(stamped, HostBinding()).claim_id == (
        "event:k:trigger:2026-11-23T12:00:00+00:00")
    keyed = GenericEvent.model_validate({**base, "event_id": "e-1", "host": "h2"})
    signal = event_signal(keyed, HostBinding())
    assert (signal.claim_id, signal.host, signal.state) == ("event:e-1", "h2", "firing")
