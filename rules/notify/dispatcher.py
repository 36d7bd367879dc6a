"""The outbox dispatcher: claims due notifications from the delivery state, hands
each to its receiver, and records what happened.

- Leases: a claim leases entries to this dispatcher (`owner`) for `lease` seconds;
  each attempt is cut off at half the lease, so a live dispatcher never outlives its
  lease. Several dispatchers (processes) may share one store.
- Order: only the oldest undelivered entry of an (incident, receiver) is claimable,
  so a resolve never overtakes its create, and a dead letter holds back the entries
  behind it until an operator requeues or discards it.
- Retries: `TransientDeliveryError` (timeouts, connection errors, 408, 429, 5xx) is
  retried after an exponential backoff with jitter, or after the receiver's
  `Retry-After`, which also pauses claims for that receiver. `PermanentDeliveryError`
  (any other 4xx) parks the entry as a dead letter with the status and body.
- Restarts: all state is in the store; a stopped dispatcher's entries are claimable
  again at once (interrupted ones are rescheduled) or, if it died, when its lease ends.

Clock, sleep and jitter are injected, so tests move time by hand.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cmdb.errors import StoreUnavailable
from rules.notify.errors import PermanentDeliveryError, TransientDeliveryError
from rules.notify.model import (
    Delivered,
    DeliveryCounts,
    Notification,
    Outcome,
    Parked,
    RetryLater,
)
from rules.notify.receiver import Clock, Receiver, utc_now
from rules.notify.redact import Redactor
from rules.notify.state import DeliveryStore

log = logging.getLogger("opsgraph.notify")

Sleep = Callable[[float], Awaitable[None]]
Jitter = Callable[[float], float]


def equal_jitter(delay: float) -> float:
    """Half the delay fixed, half random: retries spread out but never bunch at 0."""
    return delay / 2 + random.uniform(0, delay / 2)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff after the n-th failed attempt: `base * factor**(n-1)`, at most `cap`
    seconds, then jittered. `max_attempts` None retries for as long as it takes."""

    base: float = 5.0
    factor: float = 2.0
    cap: float = 600.0
    max_retry_after: float = 3600.0
    max_attempts: int | None = None

    def backoff(self, failures: int) -> float:
        return min(self.cap, self.base * self.factor ** max(0, failures - 1))


@dataclass(slots=True)
class DispatchStats:
    """This process's counters, for Prometheus."""

    attempts: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    """Delivers outbox entries of `receivers` (by receiver name) from `store`."""

    def __init__(self, store: DeliveryStore, receivers: Mapping[str, Receiver], *,
                 owner: str | None = None, policy: RetryPolicy | None = None,
                 clock: Clock = utc_now, sleep: Sleep = asyncio.sleep,
                 jitter: Jitter = equal_jitter, lease: float = 120.0,
                 poll_interval: float = 0.5, grace: float = 10.0) -> None:
        self.store = store
        self.receivers = dict(receivers)
        self.owner = owner or default_owner()
        self.policy = policy or RetryPolicy()
        self.stats = DispatchStats()
        self._clock, self._sleep, self._jitter = clock, sleep, jitter
        self._lease, self._poll, self._grace = lease, poll_interval, grace
        self._held_until: dict[str, datetime] = {}
        self._unrecorded: list[Outcome] = []
        self._wake = asyncio.Event()
        self._redact = Redactor(s for r in self.receivers.values() for s in r.secrets())

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll (new entries written).
        Call it on the dispatcher's event loop (`loop.call_soon_threadsafe` from others)."""
        self._wake.set()

    async def counts(self) -> DeliveryCounts:
        return await asyncio.to_thread(self.store.counts, sorted(self.receivers))

    async def run_once(self) -> int:
        """Claim what is due now, deliver it concurrently, record the outcomes; the
        number of attempts made."""
        claimed = await self._claim(self._limits(Counter(), batched=False))
        outcomes = await asyncio.gather(*(self._attempt(n) for n in claimed))
        self._unrecorded.extend(outcomes)
        await self._flush()
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, then finish (or reschedule) what is in flight."""
        inflight: dict[asyncio.Task[Outcome], Notification] = {}
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                self._collect(inflight)
                busy = Counter(n.receiver for n in inflight.values())
                limits = self._limits(busy, batched=True)
                try:
                    if any(limits.values()):  # outcomes so far are recorded with the claim
                        for notification in await self._claim(limits):
                            task = asyncio.create_task(self._attempt(notification))
                            inflight[task] = notification
                    elif self._unrecorded and self._urgent(inflight):
                        await self._flush()
                    timeout = await self._idle_time() if not inflight else self._poll
                except StoreUnavailable as exc:
                    log.warning("delivery state unavailable, retrying: %s", exc)
                    timeout = self._poll
                await self._wait({*inflight, stopping}, timeout)
        finally:
            stopping.cancel()
            await self._shut_down(inflight)

    def _urgent(self, inflight: Mapping[asyncio.Task[Outcome], Notification]) -> bool:
        """Record now rather than with the next claim: nothing else will wake us soon,
        a ticket was made (its ref must not wait), or many outcomes piled up."""
        return (not inflight or len(self._unrecorded) >= 64 or any(
            isinstance(o, Delivered) and o.ticket is not None for o in self._unrecorded))

    async def _wait(self, tasks: set[asyncio.Task[Any]], seconds: float) -> None:
        """Until a task finishes, `wake()` is called (or was, since the last wait), or
        `seconds` pass (by `sleep`)."""
        if not self._wake.is_set():
            sleeper: asyncio.Task[None] = asyncio.ensure_future(self._sleep(seconds))
            waker = asyncio.create_task(self._wake.wait())
            await asyncio.wait({*tasks, sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            waker.cancel()
        self._wake.clear()

    def _collect(self, inflight: dict[asyncio.Task[Outcome], Notification]) -> None:
        for task in [t for t in inflight if t.done()]:
            del inflight[task]
            self._unrecorded.append(task.result())

    async def _shut_down(self, inflight: dict[asyncio.Task[Outcome], Notification]) -> None:
        if inflight:
            await asyncio.wait(set(inflight), timeout=self._grace)
        self._collect(inflight)
        now = self._clock()
        for task, notification in inflight.items():
            task.cancel()
            # It may have reached the receiver: reschedule rather than hand back, so the
            # next attempt counts as a retry (and looks for what this one made).
            self._unrecorded.append(RetryLater(notification.outbox_id, now, now,
                                               "interrupted by shutdown"))
        try:
            await self._flush()
        except StoreUnavailable as exc:
            log.error("could not record %d outcomes at shutdown; their leases will "
                      "expire and they will be retried: %s", len(self._unrecorded), exc)

    async def _flush(self) -> None:
        if self._unrecorded:
            outcomes, self._unrecorded = self._unrecorded, []
            try:
                await asyncio.to_thread(self.store.record, self.owner, outcomes)
            except BaseException:
                self._unrecorded = outcomes + self._unrecorded  # keep them for the next try
                raise

    def _limits(self, busy: Counter[str], batched: bool) -> dict[str, int]:
        """Free slots per receiver; with `batched`, only once half of them are free (or
        all are), so claims come in fewer, larger transactions."""
        now = self._clock()
        limits: dict[str, int] = {}
        for name, receiver in self.receivers.items():
            free = max(0, receiver.max_in_flight - busy[name])
            held = self._held_until.get(name, now) > now
            waiting = batched and busy[name] > 0 and free < (receiver.max_in_flight + 1) // 2
            limits[name] = 0 if held or waiting else free
        return limits

    async def _claim(self, limits: dict[str, int]) -> list[Notification]:
        """Claim, recording the outcomes not yet recorded in the same transaction."""
        now = self._clock()
        until = now + timedelta(seconds=self._lease)
        outcomes, self._unrecorded = self._unrecorded, []
        try:
            return await asyncio.to_thread(self.store.claim, limits, self.owner, now, until,
                                           outcomes)
        except BaseException:
            self._unrecorded = outcomes + self._unrecorded  # keep them for the next try
            raise

    async def _idle_time(self) -> float:
        """Seconds until something may be due: the poll interval at most."""
        now = self._clock()
        due = await asyncio.to_thread(self.store.next_due, sorted(self.receivers))
        candidates = [self._poll]
        if due is not None:
            candidates.append((due - now).total_seconds())
        candidates += [(t - now).total_seconds() for t in self._held_until.values() if t > now]
        return max(0.0, min(candidates))

    async def _attempt(self, notification: Notification) -> Outcome:
        receiver = self.receivers[notification.receiver]
        self.stats.attempts += 1
        try:
            async with asyncio.timeout(self._lease / 2):
                receipt = await receiver.deliver(notification)
        except TransientDeliveryError as exc:
            return self._retry(notification, exc.reason, exc.status, exc.retry_after)
        except TimeoutError:
            return self._retry(notification, "attempt timed out", None, None)
        except PermanentDeliveryError as exc:
            return self._park(notification, exc.reason, exc.status, exc.body)
        except Exception as exc:
            # A receiver bug: retrying cannot fix it, so park it where operators look.
            log.exception("receiver %s failed on %s", notification.receiver,
                          notification.outbox_id)
            return self._park(notification, f"internal error: {type(exc).__name__}: {exc}",
                              None, None)
        self.stats.delivered += 1
        log.info("delivered %s %s of incident %s to %s", notification.event,
                 notification.outbox_id, notification.incident_id, notification.receiver)
        return Delivered(notification.outbox_id, self._clock(), receipt.status, receipt.ticket)

    def _retry(self, notification: Notification, reason: str, status: int | None,
               retry_after: float | None) -> Outcome:
        policy = self.policy
        if policy.max_attempts is not None and notification.attempt >= policy.max_attempts:
            return self._park(notification, f"gave up after {notification.attempt} attempts: "
                                            f"{reason}", status, None)
        now = self._clock()
        if retry_after is not None:
            delay = min(retry_after, policy.max_retry_after)
            # The receiver asked for a pause: hold all its work, not just this entry.
            self._held_until[notification.receiver] = max(
                self._held_until.get(notification.receiver, now),
                now + timedelta(seconds=delay))
        else:
            delay = self._jitter(policy.backoff(notification.attempt))
        self.stats.retried += 1
        error = self._redact(reason)
        log.warning("retrying %s to %s in %.1fs (attempt %d): %s", notification.outbox_id,
                    notification.receiver, delay, notification.attempt, error)
        return RetryLater(notification.outbox_id, now, now + timedelta(seconds=delay), error,
                          status)

    def _park(self, notification: Notification, reason: str, status: int | None,
              body: str | None) -> Outcome:
        self.stats.dead += 1
        error = self._redact(reason)
        log.error("dead letter %s (%s of incident %s) for %s: %s", notification.outbox_id,
                  notification.event, notification.incident_id, notification.receiver, error)
        return Parked(notification.outbox_id, self._clock(), error, status,
                      self._redact.body(body))
