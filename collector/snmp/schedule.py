"""The long-running SNMP poller (`opsgraph poller`): every interval, poll every
target of the targets file and ingest each result.

One `SnmpClient` (one pysnmp engine) serves every poll of the process's event loop;
at most `concurrency` devices are in flight at once, and each result is ingested in
its own write transaction in a worker thread (store calls block). Cycles start on a
fixed beat; a beat that finds the previous cycle still running is skipped and
counted, so slow devices never pile cycles up. When `stop` is set, devices already
being polled are finished and ingested, the rest of the cycle is not started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram

from cmdb.errors import CMDBError
from collector.snmp.errors import Reachability
from collector.snmp.ingest import DeviceRef, IngestOutcome
from collector.snmp.model import PollResult
from collector.snmp.poller import SnmpPoller
from collector.snmp.session import SnmpClient, Target
from collector.snmp.targets import TargetsFile, ref, resolve_credentials

log = logging.getLogger("opsgraph.snmp.poller")

Ingest = Callable[[PollResult, DeviceRef], IngestOutcome]
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_interval(text: str) -> float:
    """Seconds in `text` (``60``, ``60s``, ``1.5m``, ``500ms``, ``1h``); `ValueError`
    if it is not a positive duration."""
    match = _INTERVAL.match(text)
    if match is None:
        raise ValueError(f"cannot read {text!r} as an interval (e.g. 60s, 5m)")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"the interval must be positive, got {text!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class ScheduledDevice:
    """A target to poll and the identity its CI is found by when it does not answer."""

    target: Target
    device: DeviceRef


def scheduled_devices(targets: TargetsFile, environ: Mapping[str, str]
                      ) -> list[ScheduledDevice]:
    """Every target of the file with its credentials read from `environ` (or their
    files). Only the entries the targets use are read; `TargetsFileError` names the
    first that cannot be."""
    used = {entry.credentials or targets.credentials_name(entry.address)
            for entry in targets.targets}
    specs = {name: spec for name, spec in targets.credentials.items() if name in used}
    secrets = resolve_credentials(specs, environ)
    return [ScheduledDevice(targets.target(entry, secrets), ref(entry))
            for entry in targets.targets]


class PollerMetrics:
    """The poller's own series on its own registry (`registry` is what `/metrics`
    exposes; never the global one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.polls = Counter(
            "opsgraph_snmp_polls_total", "Device polls, by reachability outcome.",
            ["outcome"], registry=self.registry)
        for outcome in Reachability:
            self.polls.labels(outcome=outcome.value)
        self.ingest_failures = Counter(
            "opsgraph_snmp_ingest_failures_total",
            "Poll results the store did not take (logged with the reason).",
            registry=self.registry)
        self.cycles = Counter(
            "opsgraph_snmp_cycles_total", "Poll cycles completed.", registry=self.registry)
        self.cycles_skipped = Counter(
            "opsgraph_snmp_cycles_skipped_total",
            "Cycle starts skipped because the previous cycle was still running.",
            registry=self.registry)
        self.cycle_seconds = Histogram(
            "opsgraph_snmp_cycle_seconds", "Wall time of one poll cycle.",
            registry=self.registry,
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one cycle did. `cpu_seconds` is the whole process's CPU over the cycle
    (ingest threads and trap intake included)."""

    polled: int
    unreachable: int
    unbound: int
    ingest_failed: int
    seconds: float
    cpu_seconds: float
    stopped_early: bool

    def line(self) -> str:
        return (f"poll cycle: {self.polled} devices polled, {self.unreachable} unreachable, "
                f"{self.unbound} unbound, {self.ingest_failed} not ingested, "
                f"{self.seconds:.2f}s, {self.cpu_seconds:.2f}s CPU"
                + (" (stopped)" if self.stopped_early else ""))


def utc_now() -> datetime:
    return datetime.now(UTC)


class PollSchedule:
    """Polls `devices` every `interval` seconds until stopped (see the module)."""

    def __init__(self, devices: Sequence[ScheduledDevice], ingest: Ingest, *,
                 interval: float, concurrency: int, metrics: PollerMetrics,
                 clock: Callable[[], datetime] = utc_now,
                 on_cycle: Callable[[CycleReport], None] = lambda report: None) -> None:
        if interval <= 0:
            raise ValueError("the interval must be positive")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._devices, self._ingest = list(devices), ingest
        self._interval, self._concurrency = interval, concurrency
        self._metrics, self._clock, self._on_cycle = metrics, clock, on_cycle

    async def run(self, stop: asyncio.Event) -> None:
        """Cycle until `stop` is set, then let the cycle in progress finish its
        devices in flight. An unexpected error of a cycle ends the run with it."""
        loop = asyncio.get_running_loop()
        async with SnmpClient() as client:
            poller = SnmpPoller.over(client, max_concurrency=self._concurrency,
                                     clock=self._clock)
            slots = asyncio.Semaphore(self._concurrency)
            running: asyncio.Task[CycleReport] | None = None
            beat = loop.time()
            try:
                while not stop.is_set():
                    if running is not None and running.done():
                        running.result()  # re-raises what ended the cycle
                        running = None
                    if running is None:
                        running = asyncio.create_task(self._cycle(poller, slots, stop))
                    else:
                        self._metrics.cycles_skipped.inc()
                        log.warning("poll cycle skipped: the previous one is still running "
                                    "(interval %gs)", self._interval)
                    beat += self._interval
                    await _wait(stop, beat - loop.time())
            finally:
                if running is not None:
                    await running

    async def _cycle(self, poller: SnmpPoller, slots: asyncio.Semaphore,
                     stop: asyncio.Event) -> CycleReport:
        started, cpu = time.perf_counter(), time.process_time()
        outcomes = await asyncio.gather(
            *(self._device(poller, slots, stop, d) for d in self._devices))
        done = [o for o in outcomes if o is not None]
        seconds = time.perf_counter() - started
        report = CycleReport(
            polled=len(done),
            unreachable=sum(r.reachability is Reachability.UNREACHABLE for r, _ in done),
            unbound=sum(o is not None and o.ci_id is None for _, o in done),
            ingest_failed=sum(o is None for _, o in done),
            seconds=seconds, cpu_seconds=time.process_time() - cpu,
            stopped_early=len(done) < len(self._devices))
        self._metrics.cycles.inc()
        self._metrics.cycle_seconds.observe(seconds)
        log.info("%s", report.line())
        self._on_cycle(report)
        return report

    async def _device(self, poller: SnmpPoller, slots: asyncio.Semaphore, stop: asyncio.Event,
                      scheduled: ScheduledDevice
                      ) -> tuple[PollResult, IngestOutcome | None] | None:
        """The device's result and ingest outcome (None: the store refused it); None
        when the stop came before its turn."""
        async with slots:
            if stop.is_set():
                return None
            result = await poller.poll(scheduled.target)
            self._metrics.polls.labels(outcome=result.reachability.value).inc()
            try:
                outcome = await asyncio.to_thread(self._ingest, result, scheduled.device)
            except CMDBError as exc:
                # The store is down or refused the write: counted and logged; the
                # next cycle tries again and /readyz reports the store.
                self._metrics.ingest_failures.inc()
                log.error("ingest of %s failed: %s: %s", scheduled.target.endpoint,
                          type(exc).__name__, exc)
                return result, None
            if outcome.unbound_reason:
                log.debug("%s: %s", scheduled.target.endpoint, outcome.unbound_reason)
            return result, outcome


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds` or until `stop` is set, whichever comes first."""
    if seconds <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
