"""The policy file: defaults for everything, the example file, precise errors."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from rules.errors import RuleConfigError
from rules.policy.config import (
    FlappingPolicy,
    NotificationPolicy,
    Policy,
    load_policy,
    parse_policy,
)
from rules.policy.maintenance import Weekly
from rules.policy.priority import ImpactedService, ImpactFacts, assess_priority
from rules.policy.routing import load_routing

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "etc" / "policy.example.yaml"


@pytest.mark.parametrize("text", ["", "# nothing here\n", "priority: {}\nsla: {}\n",
                                  "maintenance: {windows: []}\nnotifications: {}\n"])
def test_an_empty_file_is_the_default_policy(text: str) -> None:
    assert parse_policy(text) == Policy()


def test_the_defaults_are_the_documented_ones() -> None:
    policy = Policy()
    assert policy.notifications == NotificationPolicy(
        repeat_interval=timedelta(hours=4), hold_down=timedelta(seconds=30),
        reopen_window=timedelta(hours=1),
        flapping=FlappingPolicy(transitions=5, window=timedelta(hours=1)))
    assert [(t.response, t.resolution) for t in policy.sla.targets][::4] == [
        (timedelta(minutes=15), timedelta(hours=4)), (timedelta(days=3), timedelta(days=30))]
    assert policy.maintenance == ()


def test_the_example_file_loads_with_what_it_says() -> None:
    policy = load_policy(EXAMPLE)
    assert policy.sla.business_hours is not None
    assert str(policy.sla.business_hours) == "mon,tue,wed,thu,fri 08:00-18:00 Europe/London"
    assert [t.business_hours for t in policy.sla.targets] == [False, False, True, True, True]
    assert policy.sla.targets[2].resolution == timedelta(hours=30)
    assert policy.sla.resolution_escalation.notify == ("pagerduty-oncall",)
    assert policy.sla.resolution_escalation.raise_priority
    assert [w.name for w in policy.maintenance] == [
        "printer-firmware-rollout", "hq-core-switch-patching", "backup-server-reboot"]
    assert isinstance(policy.maintenance[1].schedule, Weekly)
    assert policy.notifications == NotificationPolicy()
    sales_down = ImpactFacts((ImpactedService("Online sales", "high", "down"),), users=1200)
    assert assess_priority(sales_down, "host-down", "critical", None, policy.priority).level == 1


def test_the_example_files_only_name_receivers_the_receivers_example_defines() -> None:
    receivers_file = ROOT / "etc" / "receivers.example.yaml"
    defined = set(yaml.safe_load(receivers_file.read_text(encoding="utf-8"))["receivers"])
    load_routing(ROOT / "etc" / "routing.example.yaml", known_receivers=defined)
    policy = load_policy(EXAMPLE)
    escalated = {*policy.sla.response_escalation.notify, *policy.sla.resolution_escalation.notify}
    assert escalated <= defined


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "<policy>:1: the file must hold a mapping"),
        ("priority: {}\nrouting: {}\n", "<policy>:2: field 'routing': unknown field"),
        ("sla: {}\nsla: {}\n", "<policy>:2: invalid YAML: duplicate key 'sla'"),
        ("notifications:\n  repeat_interval: 4 hours\n",
         "<policy>:2: field 'notifications.repeat_interval': a positive duration"),
        ("notifications:\n  hold_down: -5s\n",
         "<policy>:2: field 'notifications.hold_down': a duration such as"),
        ("notifications:\n  reopen_window: 60\n",
         "<policy>:2: field 'notifications.reopen_window': a positive duration"),
        ("notifications:\n  flapping: {transitions: 1}\n",
         "<policy>:2: field 'notifications.flapping.transitions': a whole number >= 2"),
        ("notifications:\n  flapping:\n    window: 1h\n    changes: 3\n",
         "<policy>:4: field 'notifications.flapping.changes': unknown field"),
        ("notifications:\n  repeat: 1h\n", "<policy>:2: field 'notifications.repeat': unknown"),
    ],
)
def test_policy_errors_name_line_and_field(text: str, message: str) -> None:
    with pytest.raises(RuleConfigError) as caught:
        parse_policy(text)
    assert str(caught.value).startswith(message), str(caught.value)


def test_notification_timing_is_read() -> None:
    policy = parse_policy("notifications:\n  repeat_interval: 1h30m\n  hold_down: 0s\n"
                          "  reopen_window: 2h\n  flapping: {transitions: 8, window: 30m}\n")
    assert policy.notifications == NotificationPolicy(
        timedelta(minutes=90), timedelta(0), timedelta(hours=2),
        FlappingPolicy(8, timedelta(minutes=30)))


def test_errors_in_a_file_name_that_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("sla:\n  warning_at: 2\n", encoding="utf-8")
    with pytest.raises(RuleConfigError, match=re.escape(f"{path}:2: field 'sla.warning_at'")):
        load_policy(path)
    with pytest.raises(RuleConfigError, match=re.escape("nope.yaml: cannot read")):
        load_policy(tmp_path / "nope.yaml")
