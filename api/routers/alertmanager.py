"""`POST /v1/alertmanager`: Prometheus Alertmanager's webhook receiver (payload
version 4). Configure Alertmanager with::

    receivers:
      - name: opsgraph
        webhook_configs:
          - url: https://opsgraph.example/v1/alertmanager
            send_resolved: true
            http_config:
              authorization: {type: Bearer, credentials_file: /etc/am/opsgraph.token}

Alerts bind to CIs by their `instance`/`host`/`hostname` label (configurable); see
`collector.events`. Overload answers 503 with `Retry-After`, which Alertmanager
retries; a resent payload is recognised and changes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.auth import Integration
from api.body import parse_json, read_body, request_body
from api.deps import TelemetryDep
from api.routers.events import (
    EventIntakeDep,
    EventsAccepted,
    accept,
    binding,
)
from collector.event_model import AlertmanagerPayload
from collector.events import alertmanager_signals

router = APIRouter(prefix="/v1", tags=["intake"])


@router.post("/alertmanager", status_code=202, response_model=EventsAccepted,
             openapi_extra=request_body(AlertmanagerPayload))
async def post_alertmanager(request: Request, _: Integration, intake: EventIntakeDep,
                            telemetry: TelemetryDep) -> EventsAccepted:
    """Firing alerts fire, resolved alerts clear, each on its host's CI, through the
    rules (`kind: state, metric: alertmanager.alert`). Roles: integration, admin."""
    raw = await read_body(request, request.app.state.settings.max_body_bytes)
    payload = AlertmanagerPayload.model_validate(parse_json(raw))
    return await accept(request, intake, telemetry,
                        alertmanager_signals(payload, binding(request)), "alertmanager")
