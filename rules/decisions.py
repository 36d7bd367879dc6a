"""What the evaluation core decides. Plain values; applying them is someone else's job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class OpenIncident:
    fingerprint: str
    rule: str
    ci_id: str
    severity: str
    summary: str
    value: float | None
    labels: tuple[tuple[str, str], ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class RecurIncident:
    """The open incident's problem was seen again: count it, move `last_seen`."""

    fingerprint: str
    value: float | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ResolveIncident:
    fingerprint: str
    value: float | None
    at: datetime


@dataclass(frozen=True, slots=True)
class StartPending:
    """The open condition holds but not yet for the rule's `for` duration."""

    fingerprint: str
    ci_id: str
    since: datetime


@dataclass(frozen=True, slots=True)
class StopPending:
    fingerprint: str


Decision = OpenIncident | RecurIncident | ResolveIncident | StartPending | StopPending
