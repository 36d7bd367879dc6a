"""Calendars that SLA clocks count time in: round the clock (the default), or business
hours — working weekdays, opening hours in a named time zone, and holidays.

Opening hours are local wall-clock times (`08:00-18:00` in Europe/London stays
08:00-18:00 across daylight saving); all arithmetic is on absolute (UTC) time, so
a duration is real elapsed time. Every datetime in and out is timezone-aware.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.policy.document import Section

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
# Holidays cannot close a calendar for ever, but a bad one must not loop for ever either.
_HORIZON_DAYS = 3660


class Calendar(Protocol):
    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of counted time after `start`."""
        ...

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Counted time between `start` and `end` (zero if `end` is not after `start`)."""
        ...


@dataclass(frozen=True, slots=True)
class AroundTheClock:
    """24x7: every second counts."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return _aware(start) + duration

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        return max(_aware(end) - _aware(start), timedelta(0))


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Time counts on `days` (0 = Monday) between `opens` and `closes` (offsets from local
    midnight, so `closes` may be 24:00), except on `holidays`."""

    time_zone: str
    days: frozenset[int]
    opens: timedelta
    closes: timedelta
    holidays: frozenset[date] = frozenset()

    def add(self, start: datetime, duration: timedelta) -> datetime:
        start = _aware(start)
        remaining = duration
        if remaining <= timedelta(0):
            return start
        for opens, closes in self._spans(start):
            available = closes - max(opens, start)
            if available <= timedelta(0):
                continue
            if remaining <= available:
                return max(opens, start) + remaining
            remaining -= available
        raise ValueError(f"business hours {self} are not open within {_HORIZON_DAYS} days")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        start, end = _aware(start), _aware(end)
        total = timedelta(0)
        if end <= start:
            return total
        for opens, closes in self._spans(start):
            if opens >= end:
                break
            total += max(min(closes, end) - max(opens, start), timedelta(0))
        return total

    def _spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening spans (in UTC) from the local day `start` falls on, in order."""
        zone = ZoneInfo(self.time_zone)
        day = start.astimezone(zone).date()
        for offset in range(_HORIZON_DAYS):
            current = day + timedelta(days=offset)
            if current.weekday() not in self.days or current in self.holidays:
                continue
            midnight = datetime.combine(current, time(0))
            yield (_utc(midnight + self.opens, zone), _utc(midnight + self.closes, zone))

    def __str__(self) -> str:
        days = ",".join(WEEKDAYS[d] for d in sorted(self.days))
        return f"{days} {_clock(self.opens)}-{_clock(self.closes)} {self.time_zone}"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment} has no time zone; SLA times must be timezone-aware")
    return moment.astimezone(UTC)


def _utc(wall: datetime, zone: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _clock(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# Configuration ----------------------------------------------------------------------

_FIELDS = ("time_zone", "days", "hours", "holidays")


def parse_business_hours(section: Section) -> BusinessHours:
    section.only(_FIELDS)
    zone = section.text("time_zone")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise section.fail("time_zone", f"unknown time zone {zone!r} "
                                        "(an IANA name such as Europe/London)") from None
    return BusinessHours(zone, parse_weekdays(section, "days"), *_hours(section),
                         holidays=_holidays(section))


def parse_weekdays(section: Section, key: str) -> frozenset[int]:
    names = section.texts(key)
    bad = [n for n in names if n.lower() not in WEEKDAYS]
    if not names or bad:
        raise section.fail(key, f"required; one or more of {', '.join(WEEKDAYS)}")
    return frozenset(WEEKDAYS.index(n.lower()) for n in names)


def _hours(section: Section) -> tuple[timedelta, timedelta]:
    match = _HOURS.match(section.text("hours"))
    opens = closes = timedelta(0)
    if match:
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        opens, closes = timedelta(hours=h1, minutes=m1), timedelta(hours=h2, minutes=m2)
    if not match or closes <= opens or closes > timedelta(hours=24):
        raise section.fail("hours", "opening hours within one day, e.g. '08:00-18:00' "
                                    "(up to 24:00)")
    return opens, closes


def _holidays(section: Section) -> frozenset[date]:
    raw = section.value("holidays") or []
    days = raw if isinstance(raw, list) else [None]
    parsed: set[date] = set()
    for day in days:
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError:
                day = None
        if not isinstance(day, date) or isinstance(day, datetime):
            raise section.fail("holidays", "a list of dates such as 2026-12-25")
        parsed.add(day)
    return frozenset(parsed)
