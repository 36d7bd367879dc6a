"""Dependency aliases the routers use; everything comes from `app.state`, which
`create_app()` fills, so nothing is built at import time."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.telemetry import Telemetry
from cmdb.store import GraphStore
from collector.intake import ReportIntake
from rules.notify.state import DeliveryStore, open_delivery_store


def _store(request: Request) -> GraphStore:
    store: GraphStore = request.app.state.store
    return store


def _intake(request: Request) -> ReportIntake:
    intake: ReportIntake = request.app.state.intake
    return intake


def _telemetry(request: Request) -> Telemetry:
    telemetry: Telemetry = request.app.state.telemetry
    return telemetry


def deliveries(request: Request) -> DeliveryStore:
    """The notification delivery state, opened on first use and kept on the app."""
    state = request.app.state
    if getattr(state, "deliveries", None) is None:
        settings = state.settings
        state.deliveries = open_delivery_store(settings.store_url, settings.neo4j_auth(),
                                               settings.neo4j_database)
    opened: DeliveryStore = state.deliveries
    return opened


StoreDep = Annotated[GraphStore, Depends(_store)]
IntakeDep = Annotated[ReportIntake, Depends(_intake)]
TelemetryDep = Annotated[Telemetry, Depends(_telemetry)]
