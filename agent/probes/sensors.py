"""Temperatures, fan speeds and battery, where the platform exposes them."""

from __future__ import annotations

import math

from agent.probes import catalog
from agent.probes.catalog import MetricSpec, Sample
from agent.probes.source import HostSource, SensorReading


def _labelled(spec: MetricSpec, readings: list[SensorReading]) -> list[Sample]:
    """One sample per reading, with unique (chip, sensor) labels.

    Unlabelled sensors are named by position, and repeated labels (two sockets each with
    a "Core 0") get a `#2` suffix so every series stays distinct.
    """
    seen: dict[tuple[str, str], int] = {}
    position: dict[str, int] = {}
    samples: list[Sample] = []
    for reading in readings:
        position[reading.chip] = position.get(reading.chip, 0) + 1
        if not math.isfinite(reading.value):
            continue
        label = reading.label or f"{reading.chip}{position[reading.chip]}"
        count = seen.get((reading.chip, label), 0) + 1
        seen[(reading.chip, label)] = count
        sensor = label if count == 1 else f"{label}#{count}"
        samples.append(spec.sample(reading.value, chip=reading.chip, sensor=sensor))
    return samples


class SensorsProbe:
    """Hardware sensors; a host without any (most VMs) yields no samples."""

    name = "sensors"

    def __init__(self, source: HostSource) -> None:
        self._source = source

    def collect(self) -> list[Sample]:
        samples = _labelled(catalog.TEMPERATURE, self._source.temperatures())
        samples.extend(_labelled(catalog.FAN_SPEED, self._source.fans()))
        battery = self._source.battery()
        if battery is not None:
            samples.append(catalog.BATTERY_CHARGE.sample(battery.percent))
            if battery.power_plugged is not None:
                plugged = 1.0 if battery.power_plugged else 0.0
                samples.append(catalog.BATTERY_PLUGGED.sample(plugged))
            if battery.seconds_left is not None:
                samples.append(catalog.BATTERY_TIME_LEFT.sample(battery.seconds_left))
        return samples
