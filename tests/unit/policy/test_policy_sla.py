"""SLA clocks: incident timing + already-emitted events + now -> the events due now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from rules.errors import RuleConfigError
from rules.policy.business_hours import AroundTheClock, BusinessHours
from rules.policy.config import parse_policy
from rules.policy.sla import (
    IncidentTiming,
    SlaEvent,
    SlaEventKey,
    SlaPolicy,
    SlaTarget,
    next_sla_check,
    sla_clocks,
    sla_events_due,
)
from tests.conftest import Clock

POLICY = parse_policy("""
sla:
  targets:
    1: {response: 15m, resolution: 4h}
    P2: {response: 30m, resolution: 8h}
    3: {response: 4h, resolution: 30h, clock: business_hours}
  escalation:
    response: {notify: [desk-lead]}
    resolution: {notify: [duty-manager, major-incident-pager], raise_priority: true}
  business_hours:
    time_zone: Europe/London
    days: [mon, tue, wed, thu, fri]
    hours: "08:00-18:00"
    holidays: [2026-12-25]
""").sla

MON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # Monday; London is on GMT (UTC+0)
FRI = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
SAT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
NEXT_MON = datetime(2026, 11, 30, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def warning(target: SlaTarget, due: datetime) -> SlaEvent:
    return SlaEvent("warning", target, due)


RESPONSE_BREACH = ("desk-lead",)
RESOLUTION_BREACH = ("duty-manager", "major-incident-pager")


@dataclass(frozen=True)
class Case:
    name: str
    timing: IncidentTiming
    now: datetime
    expected: tuple[SlaEvent, ...]
    emitted: frozenset[SlaEventKey] = frozenset()


P1 = IncidentTiming(MON, 1)
P1_ACKED = IncidentTiming(MON, 1, acknowledged_at=MON + minutes(10))

CASES = [
    Case("nothing is due early on", P1, MON + minutes(5), ()),
    Case("the response warning is due at 75 % of 15m", P1, MON + minutes(11.25),
         (warning("response", MON + minutes(11.25)),)),
    Case("an emitted warning is not emitted again", P1, MON + minutes(12), (),
         frozenset({("warning", "response")})),
    Case("the response breach escalates to the response escalation receivers", P1,
         MON + minutes(15),
         (SlaEvent("breach", "response", MON + minutes(15), RESPONSE_BREACH, False),),
         frozenset({("warning", "response")})),
    Case("a breach supersedes a warning that was never sent", P1, MON + minutes(20),
         (SlaEvent("breach", "response", MON + minutes(15), RESPONSE_BREACH, False),)),
    Case("after the breach the warning never comes", P1, MON + minutes(20), (),
         frozenset({("breach", "response")})),
    Case("acknowledging stops the response clock", P1_ACKED, MON + minutes(20), ()),
    Case("acknowledging does not stop the resolution clock", P1_ACKED, MON + minutes(180),
         (warning("resolution", MON + minutes(180)),)),
    Case("P1 cannot be raised further", P1_ACKED, MON + minutes(240),
         (SlaEvent("breach", "resolution", MON + minutes(240), RESOLUTION_BREACH, False),),
         frozenset({("warning", "resolution")})),
    Case("a P2 resolution breach raises the priority",
         IncidentTiming(MON, 2, acknowledged_at=MON + minutes(5)), MON + timedelta(hours=8),
         (SlaEvent("breach", "resolution", MON + timedelta(hours=8), RESOLUTION_BREACH, True),)),
    Case("both targets can fall due in one call", P1, MON + timedelta(hours=5),
         (SlaEvent("breach", "response", MON + minutes(15), RESPONSE_BREACH, False),
          SlaEvent("breach", "resolution", MON + minutes(240), RESOLUTION_BREACH, False))),
    Case("a resolved incident has no SLA events",
         IncidentTiming(MON, 1, resolved_at=MON + minutes(5)), MON + timedelta(hours=5), ()),
    Case("an acknowledgement after the target stops the clock without a late escalation",
         IncidentTiming(MON, 1, acknowledged_at=MON + minutes(30)), MON + minutes(31), ()),
    Case("P3 counts business hours: Friday 16:00 has only 2 hours by Saturday",
         IncidentTiming(FRI, 3), SAT, ()),
    Case("P3 over the weekend: 3 of 4 business hours are reached on Monday at 09:00",
         IncidentTiming(FRI, 3), NEXT_MON + timedelta(hours=9),
         (warning("response", NEXT_MON + timedelta(hours=9)),)),
    Case("P3 over the weekend: the response breach is Monday 10:00",
         IncidentTiming(FRI, 3), NEXT_MON + timedelta(hours=10),
         (SlaEvent("breach", "response", NEXT_MON + timedelta(hours=10), RESPONSE_BREACH,
                   False),),
         frozenset({("warning", "response")})),
    Case("P3 opened on Saturday starts counting on Monday at 08:00",
         IncidentTiming(SAT, 3), NEXT_MON + timedelta(hours=10, minutes=59), ()),
    Case("P3 opened on Saturday warns on Monday at 11:00",
         IncidentTiming(SAT, 3), NEXT_MON + timedelta(hours=11),
         (warning("response", NEXT_MON + timedelta(hours=11)),)),
    Case("P3 resolution: 30 business hours from Friday 16:00 end Wednesday 16:00",
         IncidentTiming(FRI, 3, acknowledged_at=FRI + minutes(30)),
         datetime(2026, 12, 2, 16, 0, tzinfo=UTC),
         (SlaEvent("breach", "resolution", datetime(2026, 12, 2, 16, 0, tzinfo=UTC),
                   RESOLUTION_BREACH, True),),
         frozenset({("warning", "resolution")})),
    Case("priorities without configured targets keep the defaults (P5: 3d response)",
         IncidentTiming(MON, 5), MON + timedelta(days=3),
         (SlaEvent("breach", "response", MON + timedelta(days=3), RESPONSE_BREACH, False),)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sla_events_due(case: Case) -> None:
    assert sla_events_due(case.timing, case.emitted, case.now, POLICY) == case.expected


def test_every_event_comes_exactly_once_as_the_clock_runs(clock: Clock) -> None:
    """A P2 nobody touches, evaluated every minute for ten hours."""
    timing = IncidentTiming(clock.now, 2)
    emitted: frozenset[SlaEventKey] = frozenset()
    seen: list[tuple[str, str, timedelta]] = []
    for _ in range(600):
        now = clock.advance(minutes=1)
        expected_next = next_sla_check(timing, emitted, POLICY)
        events = sla_events_due(timing, emitted, now, POLICY)
        assert bool(events) == (expected_next is not None and expected_next <= now)
        seen += [(e.kind, e.target, e.due_at - timing.opened_at) for e in events]
        emitted |= {e.key for e in events}
    assert seen == [
        ("warning", "response", minutes(22.5)),
        ("breach", "response", minutes(30)),
        ("warning", "resolution", timedelta(hours=6)),
        ("breach", "resolution", timedelta(hours=8)),
    ]
    assert next_sla_check(timing, emitted, POLICY) is None


def test_raising_the_priority_on_breach_does_not_escalate_that_target_again() -> None:
    acked = MON + minutes(5)
    thursday_noon = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 30 business hours on
    [breach] = sla_events_due(IncidentTiming(MON, 3, acked), frozenset(), thursday_noon, POLICY)
    assert (breach.kind, breach.target, breach.raise_priority) == ("breach", "resolution", True)
    raised = IncidentTiming(MON, 2, acked)  # P2's 8h resolution target is long past too
    assert sla_events_due(raised, frozenset({breach.key}), thursday_noon, POLICY) == ()


@pytest.mark.parametrize(
    ("timing", "emitted", "expected"),
    [
        (P1, frozenset(), MON + minutes(11.25)),
        (P1, frozenset({("warning", "response")}), MON + minutes(15)),
        (P1, frozenset({("breach", "response")}), MON + minutes(180)),
        (P1_ACKED, frozenset(), MON + minutes(180)),
        (IncidentTiming(MON, 1, resolved_at=MON), frozenset(), None),
        (IncidentTiming(FRI, 3), frozenset(), NEXT_MON + timedelta(hours=9)),
    ],
)
def test_next_sla_check_tells_the_caller_when_to_look_again(
        timing: IncidentTiming, emitted: frozenset[SlaEventKey],
        expected: datetime | None) -> None:
    assert next_sla_check(timing, emitted, POLICY) == expected


def test_clocks_report_due_times_and_breaches_for_display() -> None:
    response, resolution = sla_clocks(
        IncidentTiming(MON, 1, acknowledged_at=MON + minutes(20)), POLICY)
    assert (response.due_at, response.stopped_at) == (MON + minutes(15), MON + minutes(20))
    assert response.breached(MON + timedelta(days=1))
    assert not resolution.breached(MON + minutes(239))
    assert resolution.breached(MON + minutes(240))


LONDON = BusinessHours("Europe/London", frozenset(range(5)), timedelta(hours=8),
                       timedelta(hours=18), frozenset({datetime(2026, 12, 25).date()}))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (utc(2026, 11, 23, 9), timedelta(hours=2), utc(2026, 11, 23, 11)),
        (utc(2026, 11, 23, 6), timedelta(hours=1), utc(2026, 11, 23, 9)),
        (utc(2026, 11, 23, 17), timedelta(hours=2), utc(2026, 11, 24, 9)),
        (utc(2026, 11, 23, 19), timedelta(minutes=1), utc(2026, 11, 24, 8, 1)),
        (utc(2026, 11, 27, 17), timedelta(hours=1), utc(2026, 11, 27, 18)),
        (utc(2026, 11, 27, 17), timedelta(hours=1, seconds=1), utc(2026, 11, 30, 8, 0, 1)),
        (utc(2026, 11, 29, 12), timedelta(hours=10), utc(2026, 11, 30, 18)),
        (utc(2026, 12, 24, 17), timedelta(hours=2), utc(2026, 12, 28, 9)),  # Christmas
        # Spring forward in London (Sunday 2027-03-28): Monday opens at 07:00 UTC.
        (utc(2027, 3, 26, 17), timedelta(hours=4), utc(2027, 3, 29, 10)),
        (utc(2026, 11, 23, 9), timedelta(0), utc(2026, 11, 23, 9)),
    ],
)
def test_business_hours_add(start: datetime, duration: timedelta, expected: datetime) -> None:
    assert LONDON.add(start, duration) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (utc(2026, 11, 27, 16), utc(2026, 11, 30, 10), timedelta(hours=4)),
        (utc(2026, 11, 28, 10), utc(2026, 11, 29, 23), timedelta(0)),
        (utc(2026, 11, 23, 7), utc(2026, 11, 23, 19), timedelta(hours=10)),
        (utc(2026, 11, 23, 12), utc(2026, 11, 23, 11), timedelta(0)),
        (utc(2026, 11, 23, 8), utc(2026, 11, 30, 8), timedelta(hours=50)),
    ],
)
def test_business_hours_elapsed(start: datetime, end: datetime, expected: timedelta) -> None:
    assert LONDON.elapsed(start, end) == expected
    if expected:
        assert LONDON.add(start, expected) <= end


def test_round_the_clock_counts_every_second() -> None:
    calendar = AroundTheClock()
    assert calendar.add(MON, timedelta(hours=60)) == MON + timedelta(hours=60)
    assert calendar.elapsed(FRI, NEXT_MON) == NEXT_MON - FRI


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        LONDON.add(datetime(2026, 11, 23, 9), timedelta(hours=1))


def test_defaults_are_24x7_with_a_75_percent_warning() -> None:
    policy = SlaPolicy()
    assert policy.warning_at == 0.75
    assert policy.business_hours is None
    [response] = [c for c in sla_clocks(IncidentTiming(FRI, 3), policy) if
                  c.target == "response"]
    assert response.due_at == FRI + timedelta(hours=4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sla:\n  targets:\n    P6: {response: 1h}\n",
         "<policy>:3: field 'sla.targets.P6': targets are keyed by priority"),
        ("sla:\n  targets:\n    1: {response: 1h}\n    P1: {response: 2h}\n",
         "<policy>:4: field 'sla.targets.P1': targets are keyed by priority: 1..5 or P1..P5, "
         "once each"),
        ("sla:\n  targets:\n    1: {response: 5h, resolution: 4h}\n",
         "<policy>:3: field 'sla.targets.1.response': longer than the resolution target"),
        ("sla:\n  targets:\n    1:\n      response: soon\n",
         "<policy>:4: field 'sla.targets.1.response': a positive duration"),
        ("sla:\n  targets:\n    1: {response: 0m}\n",
         "<policy>:3: field 'sla.targets.1.response': a positive duration"),
        ("sla:\n  targets:\n    3: {response: 4h, resolution: 30h, clock: business_hours}\n",
         "<policy>:3: field 'sla.targets.3.clock': counts business hours, but "
         "sla.business_hours is not set"),
        ("sla:\n  targets:\n    1: {clock: office}\n",
         "<policy>:3: field 'sla.targets.1.clock': 24x7 or business_hours"),
        ("sla:\n  business_hours: {time_zone: UTC, days: [mon], hours: '08:00-18:00'}\n"
         "  targets:\n    3: {response: 4h, resolution: 3d, clock: business_hours}\n",
         "<policy>:4: field 'sla.targets.3.resolution': with clock: business_hours, give hours"),
        ("sla:\n  warning_at: 75\n", "<policy>:2: field 'sla.warning_at': a number between 0"),
        ("sla:\n  escalation:\n    breach: {notify: [x]}\n",
         "<policy>:3: field 'sla.escalation.breach': unknown field"),
        ("sla:\n  escalation:\n    response: {notify: [x], raise_priority: yes please}\n",
         "<policy>:3: field 'sla.escalation.response.raise_priority': must be true or false"),
        ("sla:\n  business_hours: {time_zone: Mars/Olympus, days: [mon], hours: '08:00-18:00'}\n",
         "<policy>:2: field 'sla.business_hours.time_zone': unknown time zone 'Mars/Olympus'"),
        ("sla:\n  business_hours: {time_zone: UTC, days: [funday], hours: '08:00-18:00'}\n",
         "<policy>:2: field 'sla.business_hours.days': required; one or more of mon"),
        ("sla:\n  business_hours: {time_zone: UTC, days: [mon], hours: '18:00-08:00'}\n",
         "<policy>:2: field 'sla.business_hours.hours': opening hours within one day"),
        ("sla:\n  business_hours: {time_zone: UTC, days: [mon], hours: '08:00-18:00',\n"
         "                   holidays: [christmas]}\n",
         "<policy>:3: field 'sla.business_hours.holidays': a list of dates"),
    ],
)
def test_sla_config_errors_name_line_and_field(text: str, message: str) -> None:
    with pytest.raises(RuleConfigError) as caught:
        parse_policy(text)
    assert str(caught.value).startswith(message), str(caught.value)


def test_business_hours_may_run_to_midnight() -> None:
    sla = parse_policy("sla:\n  business_hours: {time_zone: UTC, days: [mon, tue], "
                       "hours: '20:00-24:00'}\n").sla
    assert sla.business_hours is not None
    assert sla.business_hours.add(MON, timedelta(hours=5)) == utc(2026, 11, 24, 21)
