"""The policy file (`etc/policy.example.yaml`): priority, SLAs, maintenance windows and
notification timing, loaded into one frozen `Policy`.

Every section and every field has a default, so an empty file is a valid policy.
Routing lives in its own file (`rules.policy.routing`). Problems raise
`RuleConfigError` naming file:line and the dotted field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from rules.policy.document import Section, parse_document, read_document
from rules.policy.maintenance import MaintenanceWindow, parse_windows
from rules.policy.priority import PriorityPolicy, parse_priority_policy
from rules.policy.sla import SlaPolicy, parse_sla_policy

_SECTIONS = ("priority", "sla", "maintenance", "notifications")


@dataclass(frozen=True, slots=True)
class FlappingPolicy:
    """A fingerprint that changes state more than `transitions` times within `window`
    is flapping: its incident stays open, flagged, and is not re-notified per flap."""

    transitions: int = 5
    window: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class NotificationPolicy:
    """`repeat_interval`: re-notify a still-open, unacknowledged incident this often.
    `hold_down` (0s turns it off): wait this long before ticketing a new incident, so
    its root cause can arrive (like Alertmanager's group_wait). `reopen_window`: a
    problem that recurs within this long after resolving reopens the same incident."""

    repeat_interval: timedelta = timedelta(hours=4)
    hold_down: timedelta = timedelta(seconds=30)
    reopen_window: timedelta = timedelta(hours=1)
    flapping: FlappingPolicy = field(default_factory=FlappingPolicy)


@dataclass(frozen=True, slots=True)
class Policy:
    priority: PriorityPolicy = field(default_factory=PriorityPolicy)
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    maintenance: tuple[MaintenanceWindow, ...] = ()
    notifications: NotificationPolicy = field(default_factory=NotificationPolicy)


def load_policy(path: str | Path) -> Policy:
    """The policy in `path`; `RuleConfigError` on the first problem found."""
    return _policy(read_document(path))


def parse_policy(text: str, path: str = "<policy>") -> Policy:
    return _policy(parse_document(text, path))


def _policy(document: Section) -> Policy:
    document.only(_SECTIONS)
    return Policy(
        priority=parse_priority_policy(document.section("priority")),
        sla=parse_sla_policy(document.section("sla")),
        maintenance=parse_windows(document.section("maintenance")),
        notifications=_notifications(document.section("notifications")),
    )


def _notifications(section: Section) -> NotificationPolicy:
    section.only(("repeat_interval", "hold_down", "reopen_window", "flapping"))
    default = NotificationPolicy()
    flapping = section.section("flapping")
    flapping.only(("transitions", "window"))
    return NotificationPolicy(
        repeat_interval=section.duration("repeat_interval", default.repeat_interval),
        hold_down=section.duration("hold_down", default.hold_down, allow_zero=True),
        reopen_window=section.duration("reopen_window", default.reopen_window),
        flapping=FlappingPolicy(
            transitions=flapping.integer("transitions", default.flapping.transitions, 2),
            window=flapping.duration("window", default.flapping.window),
        ),
    )
