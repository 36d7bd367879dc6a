"""Run a set of probes once: samples from those that worked, typed failures for the rest."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agent.clock import Clock
from agent.probes.catalog import Sample
from agent.probes.source import HostSource

log = logging.getLogger(__name__)


class Probe(Protocol):
    """Reads one aspect of the host; may keep state between calls (for rates)."""

    @property
    def name(self) -> str: ...

    def collect(self) -> list[Sample]: ...


@dataclass(frozen=True, slots=True)
class ProbeFailure:
    """A probe raised: which one and why (the other probes' samples are still sent)."""

    probe: str
    error: str


@dataclass(frozen=True, slots=True)
class Collection:
    samples: list[Sample] = field(default_factory=list)
    failures: list[ProbeFailure] = field(default_factory=list)


class HostCollector:
    """Runs probes in order; one failing probe never costs the others their samples."""

    def __init__(self, probes: Sequence[Probe]) -> None:
        self._probes = tuple(probes)
        self._last_errors: dict[str, str] = {}

    def collect(self) -> Collection:
        result = Collection()
        for probe in self._probes:
            try:
                result.samples.extend(probe.collect())
            except Exception as exc:  # isolate probes: recorded, logged, counted
                error = f"{type(exc).__name__}: {exc}"
                result.failures.append(ProbeFailure(probe.name, error))
                self._log_once(probe.name, error)
            else:
                if self._last_errors.pop(probe.name, None) is not None:
                    log.info("probe %s works again", probe.name)
        return result

    def _log_once(self, probe: str, error: str) -> None:
        # A probe broken for good would otherwise log the same line every interval.
        if self._last_errors.get(probe) != error:
            log.warning("probe %s failed: %s", probe, error)
            self._last_errors[probe] = error


def default_probes(source: HostSource, clock: Clock, root: Path = Path("/")) -> list[Probe]:
    """The standard probe set, built explicitly (nothing registers itself)."""
    from agent.probes.cpu import CpuProbe
    from agent.probes.memory import MemoryProbe
    from agent.probes.network import NetworkProbe
    from agent.probes.procfs import FileHandlesProbe, PressureProbe
    from agent.probes.sensors import SensorsProbe
    from agent.probes.storage import DiskIoProbe, FilesystemProbe
    from agent.probes.system import SystemProbe

    return [
        CpuProbe(source),
        MemoryProbe(source),
        FilesystemProbe(source),
        DiskIoProbe(source, clock, root),
        NetworkProbe(source, clock),
        SystemProbe(source, clock),
        SensorsProbe(source),
        PressureProbe(root),
        FileHandlesProbe(root),
    ]
