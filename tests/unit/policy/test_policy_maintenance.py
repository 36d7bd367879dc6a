"""Maintenance windows: windows + CI + now -> the active window; events -> suppressed?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest

from rules.errors import RuleConfigError
from rules.policy.config import parse_policy
from rules.policy.maintenance import (
    NotificationEvent,
    Weekly,
    active_window,
    suppresses,
)

WINDOWS = parse_policy("""
maintenance:
  windows:
    - name: printer-firmware
      change: CHG0041234
      start: 2026-11-28T18:00:00+00:00
      end: 2026-11-28T23:00:00Z
      covers: {ci_classes: [Printer], locations: [HQ London]}
    - name: core-switch-patching
      every: {days: [sun], at: "02:00", duration: 3h, time_zone: Europe/London}
      covers: {subtrees: [sw-core]}
    - name: backup-reboot
      every: {days: [sat], at: 23:30, duration: 1h, time_zone: Europe/London}
      covers: {ci_ids: [backup-01]}
    - name: floor2-pc-rebuild
      start: "2026-11-24T09:00:00+00:00"
      end: "2026-11-24T17:00:00+00:00"
      covers: {subtrees: [sw-floor2], ci_classes: [Computer]}
    - name: weekend-freeze
      every: {days: [fri], at: "18:00", duration: 2d14h, time_zone: America/New_York}
      covers: {locations: [New York]}
""").maintenance


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    name: str
    ci_id: str
    ci_class: str
    location: str | None
    upstream: frozenset[str]
    now: datetime
    expected: str | None


NONE: frozenset[str] = frozenset()
BEHIND_CORE = frozenset({"sw-floor2", "sw-core"})

CASES = [
    Case("a printer at HQ during the one-off window", "p1", "Printer", "HQ London", NONE,
         at(2026, 11, 28, 18), "printer-firmware"),
    Case("not yet started", "p1", "Printer", "HQ London", NONE, at(2026, 11, 28, 17, 59), None),
    Case("the end is exclusive", "p1", "Printer", "HQ London", NONE, at(2026, 11, 28, 23), None),
    Case("class and location combine: a printer elsewhere is not covered", "p2", "Printer",
         "Leeds", NONE, at(2026, 11, 28, 19), None),
    Case("class and location combine: a PC at HQ is not covered", "pc1", "Computer",
         "HQ London", NONE, at(2026, 11, 28, 19), None),
    Case("a subtree covers its root CI", "sw-core", "NetworkDevice", "HQ London", NONE,
         at(2026, 11, 29, 2, 30), "core-switch-patching"),
    Case("a subtree covers everything depending on its root", "pc1", "Computer", "HQ London",
         BEHIND_CORE, at(2026, 11, 29, 4, 59), "core-switch-patching"),
    Case("a weekly window ends after its duration", "pc1", "Computer", "HQ London",
         BEHIND_CORE, at(2026, 11, 29, 5), None),
    Case("a subtree does not cover CIs outside it", "pc9", "Computer", "HQ London",
         frozenset({"sw-floor9"}), at(2026, 11, 29, 3), None),
    Case("a weekly window in summer time starts at 02:00 local (01:00 UTC)", "sw-core",
         "NetworkDevice", "HQ London", NONE, at(2027, 6, 6, 1, 0), "core-switch-patching"),
    Case("a weekly window in summer time ends at 05:00 local (04:00 UTC)", "sw-core",
         "NetworkDevice", "HQ London", NONE, at(2027, 6, 6, 4, 0), None),
    Case("a CI id window", "backup-01", "Server", "DC1", NONE, at(2026, 11, 28, 23, 45),
         "backup-reboot"),
    Case("a weekly window runs past midnight into Sunday", "backup-01", "Server", "DC1", NONE,
         at(2026, 11, 29, 0, 15), "backup-reboot"),
    Case("and then ends", "backup-01", "Server", "DC1", NONE, at(2026, 11, 29, 0, 30), None),
    Case("a CI id window does not cover other CIs", "backup-02", "Server", "DC1", NONE,
         at(2026, 11, 28, 23, 45), None),
    Case("a subtree narrowed by class covers the PCs behind the switch", "pc1", "Computer",
         "HQ London", BEHIND_CORE, at(2026, 11, 24, 10), "floor2-pc-rebuild"),
    Case("a subtree narrowed by class skips the printer behind it", "p1", "Printer",
         "HQ London", BEHIND_CORE, at(2026, 11, 24, 10), None),
    Case("a multi-day weekly window is active on Sunday", "ny-1", "Server", "New York", NONE,
         at(2026, 11, 29, 17), "weekend-freeze"),
    Case("in its own time zone: Friday 18:00 New York is 23:00 UTC", "ny-1", "Server",
         "New York", NONE, at(2026, 11, 27, 22, 59), None),
    Case("and it ends Monday 08:00 New York (13:00 UTC)", "ny-1", "Server", "New York", NONE,
         at(2026, 11, 30, 13), None),
    Case("a CI with no location is not covered by a location window", "ny-1", "Server", None,
         NONE, at(2026, 11, 29, 17), None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_active_window(case: Case) -> None:
    assert active_window(WINDOWS, case.ci_id, case.ci_class, case.location, case.upstream,
                         case.now) == case.expected


def test_the_first_active_covering_window_in_file_order_wins() -> None:
    all_pcs = parse_policy(
        "maintenance:\n  windows:\n    - name: all-pcs\n"
        "      every: {days: [sun], at: '00:00', duration: 1d, time_zone: UTC}\n"
        "      covers: {ci_classes: [Computer]}\n").maintenance
    core = [w for w in WINDOWS if w.name == "core-switch-patching"]
    sunday_night = at(2026, 11, 29, 3)
    assert active_window([*all_pcs, *core], "pc1", "Computer", None, BEHIND_CORE,
                         sunday_night) == "all-pcs"
    assert active_window([*core, *all_pcs], "pc1", "Computer", None, BEHIND_CORE,
                         sunday_night) == "core-switch-patching"


def test_no_windows_means_nothing_is_active() -> None:
    assert active_window((), "pc1", "Computer", None, NONE, at(2026, 11, 29, 3)) is None


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        active_window(WINDOWS, "pc1", "Computer", None, NONE, datetime(2026, 11, 29, 3))


def test_the_file_keeps_the_change_reference_and_reads_unquoted_times() -> None:
    assert WINDOWS[0].change == "CHG0041234"
    schedule = WINDOWS[2].schedule
    assert isinstance(schedule, Weekly)
    assert (schedule.at, schedule.duration) == (time(23, 30), timedelta(hours=1))


@pytest.mark.parametrize(
    ("event", "window", "suppressed"),
    [
        ("opened", "core-switch-patching", True),
        ("priority_changed", "core-switch-patching", True),
        ("escalated", "core-switch-patching", True),
        ("reminder", "core-switch-patching", True),
        ("resolved", "core-switch-patching", False),
        ("acknowledged", "core-switch-patching", False),
        ("opened", None, False),
        ("priority_changed", None, False),
        ("escalated", None, False),
        ("reminder", None, False),
        ("resolved", None, False),
        ("acknowledged", None, False),
    ],
)
def test_suppresses(event: NotificationEvent, window: str | None, suppressed: bool) -> None:
    assert suppresses(event, window) is suppressed


def test_an_unknown_event_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown notification event 'closed'"):
        suppresses("closed", "w")  # type: ignore[arg-type]


def window(body: str) -> str:
    return f"maintenance:\n  windows:\n    - name: w\n{body}"


COVERS = "      covers: {ci_ids: [x]}\n"
ONE_OFF = "      start: 2026-11-28T18:00:00+00:00\n      end: 2026-11-28T20:00:00+00:00\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("maintenance: []\n", "<policy>:1: field 'maintenance': must be a mapping"),
        ("maintenance:\n  window: []\n", "<policy>:2: field 'maintenance.window': unknown field"),
        (window(COVERS), "<policy>:3: field 'maintenance.windows[w]': give `start` and `end` "
                         "(one-off) or `every` (weekly)"),
        (window(ONE_OFF + "      every: {days: [sun], at: '02:00', duration: 1h, "
                          "time_zone: UTC}\n" + COVERS),
         "<policy>:3: field 'maintenance.windows[w]': give `start` and `end`"),
        (window("      start: 2026-11-28T18:00:00+00:00\n" + COVERS),
         "<policy>:3: field 'maintenance.windows[w].end': required; a date and time"),
        (window("      start: 2026-11-28T18:00:00\n      end: 2026-11-28T20:00:00+00:00\n"
                + COVERS),
         "<policy>:4: field 'maintenance.windows[w].start': required; a date and time with "
         "its UTC offset"),
        (window("      start: 2026-11-28T18:00:00+00:00\n      end: 2026-11-28T17:00:00+00:00\n"
                + COVERS), "<policy>:5: field 'maintenance.windows[w].end': must be after start"),
        (window("      every: {days: [sun], at: noon, duration: 1h, time_zone: UTC}\n" + COVERS),
         "<policy>:4: field 'maintenance.windows[w].every.at': required; a local time of day"),
        (window("      every: {days: [sun], at: '02:00', duration: 8d, time_zone: UTC}\n"
                + COVERS),
         "<policy>:4: field 'maintenance.windows[w].every.duration': a duration up to 7d"),
        (window("      every: {days: [sun], at: '02:00', duration: 1h, time_zone: Moon}\n"
                + COVERS),
         "<policy>:4: field 'maintenance.windows[w].every.time_zone': unknown time zone 'Moon'"),
        (window("      every: {days: [someday], at: '02:00', duration: 1h, time_zone: UTC}\n"
                + COVERS), "<policy>:4: field 'maintenance.windows[w].every.days': required"),
        (window(ONE_OFF), "<policy>:3: field 'maintenance.windows[w].covers': required"),
        (window(ONE_OFF + "      covers: {}\n"),
         "<policy>:6: field 'maintenance.windows[w].covers': covers nothing"),
        (window(ONE_OFF + "      covers: {ci_classes: [Switch]}\n"),
         "<policy>:6: field 'maintenance.windows[w].covers.ci_classes': unknown CI class"),
        (window(ONE_OFF + "      covers: {hosts: [x]}\n"),
         "<policy>:6: field 'maintenance.windows[w].covers.hosts': unknown field"),
        (window(ONE_OFF + COVERS + "      reason: patching\n"),
         "<policy>:7: field 'maintenance.windows[w].reason': unknown field"),
        (window(ONE_OFF + COVERS) + "    - name: w\n" + ONE_OFF + COVERS,
         "<policy>:7: field 'maintenance.windows[w].name': another window is already called"),
        ("maintenance:\n  windows:\n    - {name: Patch Night}\n",
         "<policy>:3: field 'maintenance.windows[1].name': required; lower-case"),
    ],
)
def test_maintenance_config_errors_name_line_and_field(text: str, message: str) -> None:
    with pytest.raises(RuleConfigError) as caught:
        parse_policy(text)
    assert str(caught.value).startswith(message), str(caught.value)
