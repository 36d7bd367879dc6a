"""Sends spooled reports to the collector, oldest first, in batches, with backoff and a
dead-letter path.

Up to `batch_max_reports` of the oldest reports (at most `batch_max_bytes` of JSON)
go as one gzip'd `{"reports": [...]}`; a lone report goes as its own body, as the
spool holds it. What each answer means:

| answer                                  | the report(s) sent                               |
|-----------------------------------------|--------------------------------------------------|
| 2xx (202, also `"duplicate": true`)     | delivered: removed from the spool (of a batch,   |
|                                         | exactly those whose id is in `results`)          |
| no answer, 408, 429, 5xx                | kept; retried after backoff (`Retry-After` wins) |
| 401, 403, 404, 3xx                      | kept; the agent's token or URL is wrong, not the |
|                                         | report: retried at the longest backoff           |
| any other 4xx (400, 413, 422, ...)      | malformed: moved to the dead-letter table; of a  |
|                                         | batch, the reports `errors[].loc` names          |
|                                         | (`reports.N...`), the others are sent again      |

A batch answered 2xx without `results`, or 4xx naming no report, came to a collector
that does not take batches: its reports go one by one, and so does everything for
the next `BATCH_PAUSE_SECONDS`. The collector is idempotent by `report_id`, so a
report sent again after a lost answer is counted once.

The clock, the sleep and the transport are arguments, so every path is unit-tested.
"""

from __future__ import annotations

import enum
import gzip
import json
import logging
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.backoff import Backoff, parse_retry_after
from agent.clock import Clock
from agent.errors import TransportError
from agent.spool import Spool, SpooledReport
from agent.transport import HttpAnswer, Transport

log = logging.getLogger(__name__)

BATCH_PAUSE_SECONDS = 3600.0  # single sends after a collector that does not take batches
_BATCH_FRAME = len(b'{"reports":[]}')
_REPORT_LOC = re.compile(r"reports\.(\d+)(?:\.(.+))?")


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    HOLD = "hold"
    DEAD_LETTER = "dead_letter"


def classify(status: int) -> Outcome:
    """What an HTTP status means for the report that was sent (see the module table)."""
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status in (408, 429) or status >= 500:
        return Outcome.RETRY
    if status in (401, 403, 404) or status < 400:
        return Outcome.HOLD
    return Outcome.DEAD_LETTER


def problem_summary(body: bytes, limit: int = 200) -> str:
    """A short reason from a problem+json answer (title, detail, failing fields)."""
    try:
        problem = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:limit] or "no details"
    if not isinstance(problem, dict):
        return str(problem)[:limit]
    parts = [str(problem[key]) for key in ("title", "detail") if problem.get(key)]
    errors = problem.get("errors")
    if isinstance(errors, list):
        locs = [_loc(e) for e in errors if isinstance(e, dict)]
        if locs:
            parts.append("fields: " + ", ".join(locs[:5]))
    return "; ".join(parts)[:limit] or "no details"


def _loc(error: dict[str, object]) -> str:
    """A problem's `errors[].loc`: opsgraph sends it dotted, others as a list."""
    loc = error.get("loc", "")
    return ".".join(map(str, loc)) if isinstance(loc, list) else str(loc)


def acknowledged(body: bytes) -> set[str]:
    """The report ids a batch answer's `results` acknowledge (none if it has none)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return set()
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        return set()
    return {r["report_id"] for r in results
            if isinstance(r, dict) and isinstance(r.get("report_id"), str)}


def refused_reports(body: bytes, count: int) -> dict[int, str]:
    """Which of a batch's `count` reports a problem+json answer names (`errors[].loc`
    `reports.N...`), each with the reason a single send of it would have been given."""
    try:
        problem = json.loads(body)
    except ValueError:
        return {}
    errors = problem.get("errors") if isinstance(problem, dict) else None
    if not isinstance(errors, list):
        return {}
    fields: dict[int, list[str]] = {}
    for error in errors:
        match = _REPORT_LOC.fullmatch(_loc(error)) if isinstance(error, dict) else None
        if match and int(match.group(1)) < count:
            what = match.group(2) or str(error.get("msg") or "the report")
            fields.setdefault(int(match.group(1)), []).append(what)
    title = str(problem.get("title") or "refused")
    return {index: f"{title}; fields: {', '.join(named[:5])}"[:200]
            for index, named in fields.items()}


@dataclass(slots=True)
class DeliveryResult:
    """What one `send_due`/`flush` call did; `pending` says reports are left in the spool."""

    delivered: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    failures: int = 0
    pending: bool = False


@dataclass(slots=True)
class _Settled:
    """What one request did to the reports it carried."""

    delivered: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    failed: bool = False


class Shipper:
    """Delivers the spool's reports; remembers the backoff between calls."""

    def __init__(
        self,
        spool: Spool,
        transport: Transport,
        token: str,
        clock: Clock,
        backoff: Backoff,
        sleep: Callable[[float], object] = time.sleep,
        user_agent: str = "opsgraph-agent",
        batch_max_reports: int = 50,
        batch_max_bytes: int = 512 * 1024,
    ) -> None:
        self._spool = spool
        self._transport = transport
        self._clock = clock
        self._backoff = backoff
        self._sleep = sleep
        self._batch_max_reports = batch_max_reports
        self._batch_max_bytes = batch_max_bytes
        self._headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Authorization": f"Bearer {token}",
            "User-Agent": user_agent,
        }
        self.consecutive_failures = 0
        self.next_attempt_at = 0.0  # monotonic; 0 = may send now
        self.batches_paused_until = 0.0  # monotonic; single sends until then

    def send_due(
        self, deadline: float | None = None, should_stop: Callable[[], bool] = lambda: False
    ) -> DeliveryResult:
        """Send oldest-first, in batches, until the spool is empty, a send fails,
        `deadline` (monotonic) passes or `should_stop()` is true; does nothing while
        backing off."""
        result = DeliveryResult()
        while not should_stop():
            now = self._clock.monotonic()
            if now < self.next_attempt_at or (deadline is not None and now >= deadline):
                break
            reports, body = self._next_request()
            if not reports:
                return result
            settled = self._send_one(reports[0]) if len(reports) == 1 else (
                self._send_batch(reports, body))
            result.delivered += settled.delivered
            result.dead_lettered += settled.dead_lettered
            if settled.failed:
                result.failures += 1
                break
        result.pending = self._spool.oldest() is not None
        return result

    def flush(
        self, max_failures: int = 3, should_stop: Callable[[], bool] = lambda: False
    ) -> DeliveryResult:
        """Send everything, sleeping through backoff, giving up after `max_failures` failures."""
        total = DeliveryResult()
        while not should_stop():
            wait = self.next_attempt_at - self._clock.monotonic()
            if wait > 0:
                self._sleep(wait)
            step = self.send_due(should_stop=should_stop)
            total.delivered += step.delivered
            total.dead_lettered += step.dead_lettered
            total.failures += step.failures
            total.pending = step.pending
            if not step.pending or total.failures >= max_failures:
                break
        return total

    def _next_request(self) -> tuple[list[SpooledReport], bytes]:
        """The oldest reports that fit one request, and its body: a lone report's own
        spooled body, else a gzip'd `{"reports": [...]}` of at most `batch_max_bytes`."""
        paused = self._clock.monotonic() < self.batches_paused_until
        reports = self._spool.oldest_reports(1 if paused else self._batch_max_reports)
        if len(reports) <= 1:  # the steady state: one report per cycle, sent as spooled
            return reports, reports[0].body if reports else b""
        raws: list[bytes] = []
        size = _BATCH_FRAME
        for report in reports:
            try:
                raw = gzip.decompress(report.body)
            except (OSError, EOFError, zlib.error):
                break  # unreadable: it goes alone, as spooled, and the collector judges it
            size += len(raw) + 1
            if raws and size > self._batch_max_bytes:
                break
            raws.append(raw)
        if len(raws) <= 1:
            return reports[:1], reports[0].body
        body = b'{"reports":[' + b",".join(raws) + b"]}"
        return reports[: len(raws)], gzip.compress(body, compresslevel=6, mtime=0)

    def send(self, report: SpooledReport) -> Outcome:
        """POST one report and settle it in the spool according to the answer."""
        try:
            answer = self._transport.post(report.body, self._headers)
        except TransportError as exc:
            self._failed([report], str(exc), None)
            return Outcome.RETRY
        outcome = classify(answer.status)
        if outcome is Outcome.DELIVERED:
            self._spool.delivered(report)
            self._succeeded()
        elif outcome is Outcome.DEAD_LETTER:
            self._dead_letter(report, answer.status, problem_summary(answer.body))
        else:
            self._failed([report], f"HTTP {answer.status}", answer)
        return outcome

    def _send_one(self, report: SpooledReport) -> _Settled:
        outcome = self.send(report)
        if outcome is Outcome.DELIVERED:
            return _Settled(delivered=[report.report_id])
        if outcome is Outcome.DEAD_LETTER:
            return _Settled(dead_lettered=[report.report_id])
        return _Settled(failed=True)

    def _send_batch(self, reports: list[SpooledReport], body: bytes) -> _Settled:
        """POST `reports` as one batch `body` and settle each according to the answer."""
        try:
            answer = self._transport.post(body, self._headers)
        except TransportError as exc:
            self._failed(reports, str(exc), None)
            return _Settled(failed=True)
        outcome = classify(answer.status)
        if outcome is Outcome.DELIVERED:
            acked = acknowledged(answer.body)
            done = [r for r in reports if r.report_id in acked]
            if not done:
                return self._pause_batches(len(reports), f"HTTP {answer.status} without results")
            self._spool.delivered(*done)
            self._succeeded()
            return _Settled(delivered=[r.report_id for r in done])
        if outcome is Outcome.DEAD_LETTER:
            refused = refused_reports(answer.body, len(reports))
            if not refused:
                reason = f"HTTP {answer.status}: {problem_summary(answer.body)}"
                return self._pause_batches(len(reports), reason)
            # The collector accepts none of a batch it refuses a report of: the others
            # are sent again at once, without the bad ones.
            for index, reason in sorted(refused.items()):
                self._dead_letter(reports[index], answer.status, reason)
            return _Settled(dead_lettered=[reports[i].report_id for i in sorted(refused)])
        self._failed(reports, f"HTTP {answer.status}", answer)
        return _Settled(failed=True)

    def _pause_batches(self, count: int, reason: str) -> _Settled:
        self.batches_paused_until = self._clock.monotonic() + BATCH_PAUSE_SECONDS
        log.warning(
            "the collector did not take a batch of %d reports (%s); sending reports one "
            "by one for the next %.0f min", count, reason, BATCH_PAUSE_SECONDS / 60,
        )
        return _Settled()

    def _dead_letter(self, report: SpooledReport, status: int, reason: str) -> None:
        log.error(
            "collector refused report %s as malformed (HTTP %d: %s); moved to dead letters",
            report.report_id, status, reason,
        )
        self._spool.dead_letter(report, status, reason)

    def _succeeded(self) -> None:
        if self.consecutive_failures:
            log.info("collector reachable again after %d failure(s)", self.consecutive_failures)
        self.consecutive_failures, self.next_attempt_at = 0, 0.0

    def _failed(
        self, reports: list[SpooledReport], reason: str, answer: HttpAnswer | None
    ) -> None:
        self._spool.failed(*reports, reason=reason)
        self.consecutive_failures += 1
        status = answer.status if answer is not None else None
        if status is not None and classify(status) is Outcome.HOLD:
            delay = self._backoff.maximum_seconds
            log.error(
                "collector answered HTTP %d: check the agent token and server_url; "
                "reports stay spooled, retry in %.0fs", status, delay,
            )
        else:
            retry_after = parse_retry_after(answer.retry_after if answer else None,
                                            self._clock.time())
            delay = self._backoff.delay(self.consecutive_failures, retry_after)
            level = logging.WARNING if self.consecutive_failures == 1 else logging.DEBUG
            what = (f"report {reports[0].report_id}" if len(reports) == 1
                    else f"{len(reports)} reports")
            log.log(level, "sending %s failed (%s); retry in %.1fs", what, reason, delay)
        self.next_attempt_at = self._clock.monotonic() + delay
