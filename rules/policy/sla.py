"""SLA clocks: response and resolution targets per priority, a warning before each
target and an escalation when it is breached.

The response clock runs from `opened_at` until the incident is acknowledged (or
resolved); the resolution clock until it is resolved. Targets are those of the
incident's current priority. Time counts round the clock unless a priority's
targets say `clock: business_hours`, in which case only the configured business
hours count (typical: P1/P2 24x7, P3-P5 business hours); such targets are written
in hours (`30h` = three 10-hour working days), never days, because a counted "day"
would be 24 business hours.

`sla_events_due()` is pure: the caller passes the current time and the events it
has already emitted, and gets back only the new ones, so an event is never emitted
twice. A breach supersedes its warning: if both fall due between two calls, only
the breach is returned, and a warning is never sent after its breach. An
escalation may raise the priority by one; since each breach is emitted once, that
happens at most once per target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from rules.policy.business_hours import (
    AroundTheClock,
    BusinessHours,
    Calendar,
    parse_business_hours,
)
from rules.policy.document import Section

SlaTarget = Literal["response", "resolution"]
SlaKind = Literal["warning", "breach"]
SlaEventKey = tuple[SlaKind, SlaTarget]
SLA_TARGETS: tuple[SlaTarget, ...] = ("response", "resolution")
PRIORITIES = (1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class Targets:
    """How long one priority may wait for a response and for a resolution."""

    response: timedelta
    resolution: timedelta
    business_hours: bool = False


@dataclass(frozen=True, slots=True)
class Escalation:
    """Who is told when a target is breached, and whether the priority goes up one."""

    notify: tuple[str, ...] = ()
    raise_priority: bool = False


_M, _H, _D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
DEFAULT_TARGETS = (Targets(15 * _M, 4 * _H), Targets(1 * _H, 8 * _H), Targets(4 * _H, 3 * _D),
                   Targets(1 * _D, 10 * _D), Targets(3 * _D, 30 * _D))


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """`targets[p - 1]` are priority p's; `business_hours` is the calendar that
    targets marked `business_hours` count in."""

    targets: tuple[Targets, ...] = DEFAULT_TARGETS
    warning_at: float = 0.75
    response_escalation: Escalation = Escalation()
    resolution_escalation: Escalation = Escalation()
    business_hours: BusinessHours | None = None

    def escalation(self, target: SlaTarget) -> Escalation:
        return self.response_escalation if target == "response" else self.resolution_escalation


@dataclass(frozen=True, slots=True)
class IncidentTiming:
    opened_at: datetime
    priority: int
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SlaEvent:
    """A warning or breach of one target that is due now. `escalate_to` is empty for
    warnings (they go to the incident's own receivers)."""

    kind: SlaKind
    target: SlaTarget
    due_at: datetime
    escalate_to: tuple[str, ...] = ()
    raise_priority: bool = False

    @property
    def key(self) -> SlaEventKey:
        """What the caller records as emitted and passes back next time."""
        return (self.kind, self.target)


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One target's clock: when it warns, when it is due, and when (if) it stopped."""

    target: SlaTarget
    warning_at: datetime
    due_at: datetime
    stopped_at: datetime | None

    def breached(self, now: datetime) -> bool:
        return (self.stopped_at or now) >= self.due_at


def sla_clocks(timing: IncidentTiming, policy: SlaPolicy) -> tuple[SlaClock, SlaClock]:
    """The response and resolution clocks of an incident (for display and scheduling)."""
    if timing.priority not in PRIORITIES:
        raise ValueError(f"priority must be 1..5, not {timing.priority!r}")
    targets = policy.targets[timing.priority - 1]
    calendar: Calendar = AroundTheClock()
    if targets.business_hours and policy.business_hours is not None:
        calendar = policy.business_hours
    response_stop = timing.acknowledged_at or timing.resolved_at
    if timing.acknowledged_at and timing.resolved_at:
        response_stop = min(timing.acknowledged_at, timing.resolved_at)

    def clock(target: SlaTarget, length: timedelta, stopped: datetime | None) -> SlaClock:
        warning = calendar.add(timing.opened_at, length * policy.warning_at)
        return SlaClock(target, warning, calendar.add(timing.opened_at, length), stopped)

    return (clock("response", targets.response, response_stop),
            clock("resolution", targets.resolution, timing.resolved_at))


def sla_events_due(timing: IncidentTiming, emitted: frozenset[SlaEventKey], now: datetime,
                   policy: SlaPolicy) -> tuple[SlaEvent, ...]:
    """The SLA events due at `now` that are not in `emitted`."""
    events: list[SlaEvent] = []
    for clock in sla_clocks(timing, policy):
        if clock.stopped_at is not None:
            continue
        if now >= clock.due_at:
            if ("breach", clock.target) not in emitted:
                escalation = policy.escalation(clock.target)
                events.append(SlaEvent("breach", clock.target, clock.due_at, escalation.notify,
                                       escalation.raise_priority and timing.priority > 1))
        elif now >= clock.warning_at and ("warning", clock.target) not in emitted:
            events.append(SlaEvent("warning", clock.target, clock.warning_at))
    return tuple(events)


def next_sla_check(timing: IncidentTiming, emitted: frozenset[SlaEventKey],
                   policy: SlaPolicy) -> datetime | None:
    """When `sla_events_due` will next return something (None: never, as things
    stand). It may be in the past: then something is due already."""
    due: list[datetime] = []
    for clock in sla_clocks(timing, policy):
        if clock.stopped_at is not None or ("breach", clock.target) in emitted:
            continue
        due.append(clock.due_at if ("warning", clock.target) in emitted else clock.warning_at)
    return min(due, default=None)


# Configuration ----------------------------------------------------------------------

_FIELDS = ("targets", "warning_at", "escalation", "business_hours")
_TARGET_FIELDS = ("response", "resolution", "clock")
_CLOCKS = ("24x7", "business_hours")


def parse_sla_policy(section: Section) -> SlaPolicy:
    """The `sla:` section; anything it leaves out keeps its default."""
    section.only(_FIELDS)
    hours = parse_business_hours(section.section("business_hours")) \
        if section.has("business_hours") else None
    escalation = section.section("escalation")
    escalation.only(SLA_TARGETS)
    return SlaPolicy(
        targets=_targets(section.section("targets"), hours is not None),
        warning_at=section.fraction("warning_at", 0.75),
        response_escalation=_escalation(escalation, "response"),
        resolution_escalation=_escalation(escalation, "resolution"),
        business_hours=hours,
    )


def _targets(section: Section, have_hours: bool) -> tuple[Targets, ...]:
    given: dict[int, Section] = {}
    for key in section.fields():
        priority = _priority_key(key)
        if priority is None or priority in given:
            raise section.fail(str(key), "targets are keyed by priority: 1..5 or P1..P5, once each")
        given[priority] = section.section(key)
    return tuple(_target(given.get(p), DEFAULT_TARGETS[p - 1], have_hours) for p in PRIORITIES)


def _priority_key(key: object) -> int | None:
    if isinstance(key, int) and not isinstance(key, bool):
        return key if key in PRIORITIES else None
    if isinstance(key, str) and len(key) == 2 and key[0] in "Pp" and key[1] in "12345":
        return int(key[1])
    return None


def _target(raw: Section | None, default: Targets, have_hours: bool) -> Targets:
    if raw is None:
        return default
    raw.only(_TARGET_FIELDS)
    clock = raw.text("clock", "24x7")
    if clock not in _CLOCKS:
        raise raw.fail("clock", "24x7 or business_hours")
    if clock == "business_hours":
        if not have_hours:
            raise raw.fail("clock", "counts business hours, but sla.business_hours is not set")
        for key in ("response", "resolution"):
            _business_duration(raw, key)
    response = raw.duration("response", default.response)
    resolution = raw.duration("resolution", default.resolution)
    if response > resolution:
        raise raw.fail("response", "longer than the resolution target")
    return Targets(response, resolution, clock == "business_hours")


def _business_duration(raw: Section, key: str) -> None:
    """Business-hours targets are given in hours/minutes: '3d' would count 72 business
    hours (about seven working days), which is never what '3 days' meant."""
    value = raw.value(key)
    if not isinstance(value, str) or "d" in value or "w" in value:
        raise raw.fail(key, "with clock: business_hours, give hours, e.g. 30h for three "
                            "10-hour working days ('3d' would count 72 business hours)")


def _escalation(section: Section, target: SlaTarget) -> Escalation:
    raw = section.section(target)
    raw.only(("notify", "raise_priority"))
    return Escalation(raw.texts("notify"), raw.flag("raise_priority", False))
