"""Sends spooled reports to the collector, oldest first, with backoff and a dead-letter path.

What each answer means for the report:

| answer                                  | the report                                      |
|-----------------------------------------|-------------------------------------------------|
| 2xx (202, also `"duplicate": true`)     | delivered: removed from the spool               |
| no answer, 408, 429, 5xx                | kept; retried after backoff (`Retry-After` wins) |
| 401, 403, 404, 3xx                      | kept; the agent's token or URL is wrong, not the |
|                                         | report: retried at the longest backoff          |
| any other 4xx (400, 413, 422, ...)      | malformed: moved to the dead-letter table       |

The clock, the sleep and the transport are arguments, so every path is unit-tested.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.backoff import Backoff, parse_retry_after
from agent.clock import Clock
from agent.errors import TransportError
from agent.spool import Spool, SpooledReport
from agent.transport import HttpAnswer, Transport

log = logging.getLogger(__name__)


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
        locs = [".".join(map(str, e.get("loc", []))) for e in errors if isinstance(e, dict)]
        if locs:
            parts.append("fields: " + ", ".join(locs[:5]))
    return "; ".join(parts)[:limit] or "no details"


@dataclass(slots=True)
class DeliveryResult:
    """What one `send_due`/`flush` call did; `pending` says reports are left in the spool."""

    delivered: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    failures: int = 0
    pending: bool = False


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
    ) -> None:
        self._spool = spool
        self._transport = transport
        self._clock = clock
        self._backoff = backoff
        self._sleep = sleep
        self._headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Authorization": f"Bearer {token}",
            "User-Agent": user_agent,
        }
        self.consecutive_failures = 0
        self.next_attempt_at = 0.0  # monotonic; 0 = may send now

    def send_due(
        self, deadline: float | None = None, should_stop: Callable[[], bool] = lambda: False
    ) -> DeliveryResult:
        """Send oldest-first until the spool is empty, a send fails, `deadline` (monotonic)
        passes or `should_stop()` is true; does nothing while backing off."""
        result = DeliveryResult()
        while not should_stop():
            now = self._clock.monotonic()
            if now < self.next_attempt_at or (deadline is not None and now >= deadline):
                break
            report = self._spool.oldest()
            if report is None:
                return result
            outcome = self.send(report)
            if outcome is Outcome.DELIVERED:
                result.delivered.append(report.report_id)
            elif outcome is Outcome.DEAD_LETTER:
                result.dead_lettered.append(report.report_id)
            else:
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

    def send(self, report: SpooledReport) -> Outcome:
        """POST one report and settle it in the spool according to the answer."""
        try:
            answer = self._transport.post(report.body, self._headers)
        except TransportError as exc:
            self._failed(report, str(exc), None)
            return Outcome.RETRY
        outcome = classify(answer.status)
        if outcome is Outcome.DELIVERED:
            self._spool.delivered(report)
            if self.consecutive_failures:
                log.info("collector reachable again after %d failure(s)", self.consecutive_failures)
            self.consecutive_failures, self.next_attempt_at = 0, 0.0
        elif outcome is Outcome.DEAD_LETTER:
            reason = problem_summary(answer.body)
            log.error(
                "collector refused report %s as malformed (HTTP %d: %s); moved to dead letters",
                report.report_id, answer.status, reason,
            )
            self._spool.dead_letter(report, answer.status, reason)
        else:
            self._failed(report, f"HTTP {answer.status}", answer)
        return outcome

    def _failed(self, report: SpooledReport, reason: str, answer: HttpAnswer | None) -> None:
        self._spool.failed(report, reason)
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
            log.log(level, "sending report %s failed (%s); retry in %.1fs",
                    report.report_id, reason, delay)
        self.next_attempt_at = self._clock.monotonic() + delay
