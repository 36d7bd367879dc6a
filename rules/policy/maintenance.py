"""Maintenance and change windows: while one is active on a CI, new notifications
about that CI's incidents are suppressed; the incidents are still recorded.

A window is either one-off (`start`..`end`, timezone-aware) or weekly (on some
weekdays, from a local start time, for a duration, in a named time zone; it may run
past midnight). It covers CIs by:
- `ci_ids`: exactly these CIs;
- `subtrees`: these CIs and everything that depends on them — the caller passes the
  ids upstream of the CI being checked (what it depends on), so the check is pure;
- `ci_classes` and `locations`: filters.
Kinds combine like an Alertmanager silence's matchers: a CI is covered when it is
selected by `ci_ids` or `subtrees` (or either is absent) AND its class is in
`ci_classes` (if given) AND its location is in `locations` (if given). So
`{ci_classes: [Printer], locations: [HQ]}` means "printers at HQ", and
`{subtrees: [sw1], ci_classes: [Computer]}` "the PCs behind switch sw1".

Resolved and acknowledged notifications are never suppressed: whoever was told an
incident was opened must hear it is handled, window or not.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cmdb.classes import CLASSES
from rules.policy.business_hours import parse_weekdays
from rules.policy.document import Section, parse_duration

NotificationEvent = Literal[
    "opened", "priority_changed", "escalated", "reminder", "resolved", "acknowledged"]
SUPPRESSIBLE: frozenset[str] = frozenset({"opened", "priority_changed", "escalated", "reminder"})
NEVER_SUPPRESSED: frozenset[str] = frozenset({"resolved", "acknowledged"})
_MAX_WEEKLY = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class OneOff:
    start: datetime
    end: datetime

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end


@dataclass(frozen=True, slots=True)
class Weekly:
    """Every `days` (0 = Monday) at local `at` in `time_zone`, for `duration` (real time)."""

    days: frozenset[int]
    at: time
    duration: timedelta
    time_zone: str

    def active(self, now: datetime) -> bool:
        zone = ZoneInfo(self.time_zone)
        today = now.astimezone(zone).date()
        # A window that started on an earlier day may still be running now.
        for back in range(self.duration.days + 2):
            day = today - timedelta(days=back)
            if day.weekday() in self.days and self._covers(day, zone, now):
                return True
        return False

    def _covers(self, day: date, zone: ZoneInfo, now: datetime) -> bool:
        start = datetime.combine(day, self.at, tzinfo=zone).astimezone(UTC)
        return start <= now < start + self.duration


@dataclass(frozen=True, slots=True)
class Coverage:
    ci_ids: frozenset[str] = frozenset()
    subtrees: frozenset[str] = frozenset()
    ci_classes: frozenset[str] = frozenset()
    locations: frozenset[str] = frozenset()

    def covers(self, ci_id: str, ci_class: str | None, location: str | None,
               upstream_ids: Collection[str]) -> bool:
        if self.ci_ids or self.subtrees:
            selected = ci_id in self.ci_ids or ci_id in self.subtrees or any(
                u in self.subtrees for u in upstream_ids)
            if not selected:
                return False
        if self.ci_classes and ci_class not in self.ci_classes:
            return False
        return not self.locations or location in self.locations


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    name: str
    schedule: OneOff | Weekly
    covers: Coverage
    change: str | None = None  # the change record it belongs to, e.g. CHG0041234


def active_window(windows: Sequence[MaintenanceWindow], ci_id: str, ci_class: str | None,
                  location: str | None, upstream_ids: Collection[str],
                  now: datetime) -> str | None:
    """The name of the first window (in configuration order) active at `now` that
    covers the CI; None when no window does."""
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    for window in windows:
        if window.schedule.active(now) and window.covers.covers(
                ci_id, ci_class, location, upstream_ids):
            return window.name
    return None


def suppresses(event: NotificationEvent, window: str | None) -> bool:
    """Whether a notification of `event` is held back because of `window` (the result
    of `active_window`, None when none is active)."""
    if event not in SUPPRESSIBLE and event not in NEVER_SUPPRESSED:
        raise ValueError(f"unknown notification event {event!r}")
    return window is not None and event in SUPPRESSIBLE


# Configuration ----------------------------------------------------------------------

_FIELDS = ("name", "change", "start", "end", "every", "covers")
_EVERY_FIELDS = ("days", "at", "duration", "time_zone")
_COVERS_FIELDS = ("ci_ids", "subtrees", "ci_classes", "locations")


def parse_windows(section: Section) -> tuple[MaintenanceWindow, ...]:
    """The `maintenance:` section: `windows:`, a list."""
    section.only(("windows",))
    windows: list[MaintenanceWindow] = []
    seen: set[str] = set()
    for raw in section.items("windows"):
        window = raw.named(f"{section.field('windows')}[{{}}]")
        window.only(_FIELDS)
        name = window.name()
        if name in seen:
            raise window.fail("name", f"another window is already called {name!r}")
        seen.add(name)
        change = window.text("change") if window.has("change") else None
        windows.append(MaintenanceWindow(name, _schedule(window), _coverage(window), change))
    return tuple(windows)


def _schedule(window: Section) -> OneOff | Weekly:
    if window.has("every") == (window.has("start") or window.has("end")):
        raise window.fail(None, "give `start` and `end` (one-off) or `every` (weekly)")
    if window.has("every"):
        return _weekly(window.section("every"))
    start, end = _moment(window, "start"), _moment(window, "end")
    if end <= start:
        raise window.fail("end", "must be after start")
    return OneOff(start, end)


def _moment(window: Section, key: str) -> datetime:
    raw = window.value(key)
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, datetime) or raw.tzinfo is None:
        raise window.fail(key, "required; a date and time with its UTC offset, "
                               "e.g. 2026-11-28T18:00:00+00:00")
    return raw.astimezone(UTC)


def _weekly(every: Section) -> Weekly:
    every.only(_EVERY_FIELDS)
    zone = every.text("time_zone")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise every.fail("time_zone", f"unknown time zone {zone!r}") from None
    at = _time_of_day(every)
    duration = parse_duration(every.text("duration"))
    if duration is None or not timedelta(0) < duration <= _MAX_WEEKLY:
        raise every.fail("duration", "a duration up to 7d, such as 3h or 1d12h")
    return Weekly(parse_weekdays(every, "days"), at, duration, zone)


def _time_of_day(every: Section) -> time:
    raw = every.value("at")
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < 1440:
        return time(raw // 60, raw % 60)  # YAML 1.1 reads an unquoted 18:00 as 1080
    try:
        parsed = time.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is not None:
        raise every.fail("at", "required; a local time of day such as '02:00'")
    return parsed


def _coverage(window: Section) -> Coverage:
    if not window.has("covers"):
        raise window.fail("covers", "required; name ci_ids, subtrees, ci_classes or locations")
    raw = window.section("covers")
    raw.only(_COVERS_FIELDS)
    coverage = Coverage(*(frozenset(raw.texts(k)) for k in _COVERS_FIELDS))
    if coverage == Coverage():
        raise raw.fail(None, "covers nothing; name ci_ids, subtrees, ci_classes or locations")
    unknown = sorted(coverage.ci_classes - set(CLASSES))
    if unknown:
        raise raw.fail("ci_classes", f"unknown CI class {unknown[0]!r}")
    return coverage
