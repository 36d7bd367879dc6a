"""The agent report as the collector accepts it (see docs/report-format.md)."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from collector.observation import Unit

AgentId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
MetricName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[a-z][a-z0-9_.]*$")]
ShortText = Annotated[str, Field(max_length=1024)]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class Metric(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: MetricName
    value: Annotated[float, AfterValidator(_finite)]
    unit: Unit
    labels: dict[Annotated[str, Field(max_length=100)], ShortText] = Field(
        default_factory=dict, max_length=20
    )


class OperatingSystem(BaseModel):
    family: ShortText | None = None
    name: ShortText | None = None
    version: ShortText | None = None
    kernel: ShortText | None = None


class Cpu(BaseModel):
    model: ShortText | None = None
    cores: Annotated[int, Field(ge=0, le=100_000)] | None = None
    threads: Annotated[int, Field(ge=0, le=100_000)] | None = None


class Hardware(BaseModel):
    vendor: ShortText | None = None
    model: ShortText | None = None
    serial: ShortText | None = None
    uuid: ShortText | None = None
    chassis: ShortText | None = None


class Nic(BaseModel):
    name: ShortText
    mac: ShortText | None = None
    ipv4: list[ShortText] = Field(default_factory=list, max_length=256)
    ipv6: list[ShortText] = Field(default_factory=list, max_length=256)
    speed_mbps: Annotated[int, Field(ge=0)] | None = None
    is_up: bool | None = None


class Disk(BaseModel):
    device: ShortText
    mountpoint: ShortText | None = None
    fstype: ShortText | None = None
    total_bytes: Annotated[int, Field(ge=0)] | None = None


class HostInventory(BaseModel):
    """What the agent knows of its host. Absent fields are unknown, not empty."""

    hostname: ShortText
    fqdn: ShortText | None = None
    os: OperatingSystem = Field(default_factory=OperatingSystem)
    arch: ShortText | None = None
    cpu: Cpu = Field(default_factory=Cpu)
    memory_bytes: Annotated[int, Field(ge=0)] | None = None
    boot_time: AwareDatetime | None = None
    hardware: Hardware = Field(default_factory=Hardware)
    role: ShortText | None = None
    nics: list[Nic] = Field(default_factory=list, max_length=512)
    disks: list[Disk] = Field(default_factory=list, max_length=512)


class AgentReport(BaseModel):
    """One report from one agent; a heartbeat when it has no inventory and no metrics."""

    model_config = ConfigDict(extra="ignore")

    report_id: Annotated[str, Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
    agent_id: AgentId
    agent_version: ShortText | None = None
    collected_at: AwareDatetime
    inventory: HostInventory | None = None
    metrics: list[Metric] = Field(default_factory=list, max_length=2000)


MAX_BATCH_REPORTS = 500


class ReportBatch(BaseModel):
    """Several reports in one request, each accepted as if it came alone."""

    model_config = ConfigDict(extra="forbid")

    reports: list[AgentReport] = Field(min_length=1, max_length=MAX_BATCH_REPORTS)
