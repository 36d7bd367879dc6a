"""The event payloads intake accepts: Alertmanager's webhook (version 4) and
opsgraph's generic event (PagerDuty Events v2-like, flattened).

Generic event (`POST /v1/events`)::

    {
      "dedup_key": "disk-sda-web01",     # one incident per key (required)
      "event_action": "trigger",         # trigger | resolve
      "source": "web01.example.com",     # the affected host (binds the CI)
      "host": null,                      # overrides `source` for binding, optional
      "summary": "sda SMART failure",    # for rule texts: {label.summary}
      "severity": "critical",            # critical | error | warning | info
      "timestamp": "2026-11-23T12:00:00Z",   # optional; with it, repeats dedup
      "event_id": "b0c5...",             # optional idempotency key
      "ci_class": "Server",              # optional declared CI class
      "labels": {"team": "storage"}      # optional, for rule scopes and texts
    }
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

LabelName = Annotated[str, Field(min_length=1, max_length=100,
                                 pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
LabelValue = Annotated[str, Field(max_length=1024)]
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=64)]


class Alert(BaseModel):
    """One alert of an Alertmanager notification."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(None, alias="endsAt")
    generator_url: Annotated[str, Field(max_length=2048)] | None = Field(
        None, alias="generatorURL")
    fingerprint: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9]*$")] | None = None


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook body, version 4 (other fields are ignored)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: Annotated[str, Field(max_length=256)] = ""
    group_key: Annotated[str, Field(max_length=4096)] = Field("", alias="groupKey")
    truncated_alerts: Annotated[int, Field(ge=0)] = Field(0, alias="truncatedAlerts")
    alerts: Annotated[list[Alert], Field(max_length=1000)]


class GenericEvent(BaseModel):
    """An event from anything that can POST JSON (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    dedup_key: Annotated[str, Field(min_length=1, max_length=255)]
    event_action: Literal["trigger", "resolve"]
    source: Annotated[str, Field(min_length=1, max_length=255)]
    host: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    summary: Annotated[str, Field(max_length=1024)] = ""
    severity: Literal["critical", "error", "warning", "info"] = "warning"
    timestamp: AwareDatetime | None = None
    event_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    ci_class: Annotated[str, Field(max_length=64)] | None = None
    labels: Labels = Field(default_factory=dict)
