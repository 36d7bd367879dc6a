"""Linux-only readings straight from `<root>/proc`: pressure stall information, file handles.

Each reader takes the root path as an argument (so tests point it at a fake tree, and a
containerised agent at `/host`); where the files do not exist it yields nothing.
"""

from __future__ import annotations

from pathlib import Path

from agent.probes import catalog
from agent.probes.catalog import Sample

PRESSURE_RESOURCES = ("cpu", "memory", "io")
_WINDOWS = {"avg10": "10s", "avg60": "60s", "avg300": "300s"}


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii")
    except (FileNotFoundError, NotADirectoryError):
        return None


def parse_pressure(resource: str, text: str) -> list[Sample]:
    """Samples from one `/proc/pressure/<resource>` file (`some avg10=1.10 avg60=...`)."""
    samples: list[Sample] = []
    for line in text.splitlines():
        kind, _, fields = line.partition(" ")
        spec = {"some": catalog.PRESSURE_SOME, "full": catalog.PRESSURE_FULL}.get(kind)
        if spec is None:
            continue
        for field in fields.split():
            key, _, value = field.partition("=")
            if key in _WINDOWS:
                samples.append(spec.sample(float(value), resource=resource, window=_WINDOWS[key]))
    return samples


class PressureProbe:
    """How much time tasks stalled on CPU, memory and I/O (Linux 4.20+ PSI)."""

    name = "pressure"

    def __init__(self, root: Path = Path("/")) -> None:
        self._directory = root / "proc" / "pressure"

    def collect(self) -> list[Sample]:
        samples: list[Sample] = []
        for resource in PRESSURE_RESOURCES:
            text = _read(self._directory / resource)
            if text is not None:
                samples.extend(parse_pressure(resource, text))
        return samples


class FileHandlesProbe:
    """Open file handles against the system-wide limit (`/proc/sys/fs/file-nr`)."""

    name = "file_handles"

    def __init__(self, root: Path = Path("/")) -> None:
        self._path = root / "proc" / "sys" / "fs" / "file-nr"

    def collect(self) -> list[Sample]:
        text = _read(self._path)
        if text is None:
            return []
        allocated, unused, maximum = (int(part) for part in text.split()[:3])
        return [
            catalog.FILE_HANDLES_USED.sample(allocated - unused),
            catalog.FILE_HANDLES_MAX.sample(maximum),
        ]
