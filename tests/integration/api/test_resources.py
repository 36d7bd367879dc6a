"""Every operator-API resource through the generic suite (`resource_suite.py`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

from api.auth import issue_token
from cmdb.reconcile import reconcile
from cmdb.records import Incident
from cmdb.store import AuditRecord, WriteTx
from collector.observation import Inventory
from tests.integration.api.conftest import OpsApi
from tests.integration.api.resource_suite import ListSuite, ResourceSuite, auth_api  # noqa: F401

T0 = datetime(2026, 11, 23, tzinfo=UTC)
INCIDENT = Incident(id="i", fingerprint="fp", rule="disk", ci_id="ci", state="new",
                    severity="major", summary="s", opened_at=T0, last_seen=T0, occurrences=1)


def insert(incident: Incident, tx: WriteTx) -> None:
    tx.insert_incident(incident)


class TestCIs(ListSuite):
    path = "/v1/cis"

    def seed(self, api: OpsApi, count: int) -> None:
        reconcile(api.store, [Inventory("snmp", "NetworkDevice", {"name": f"sw-{n}"},
                                        {"name": f"sw-{n}"}) for n in range(count)],
                  api.clock())


class TestIncidents(ListSuite):
    path = "/v1/incidents"
    write = ("POST", "/v1/incidents/some-id/acknowledge", None)
    write_role = "operator"

    def seed(self, api: OpsApi, count: int) -> None:
        for n in range(count):
            incident = replace(INCIDENT, id=f"i-{n}", fingerprint=f"fp-{n}",
                               opened_at=api.clock() + timedelta(seconds=n))
            api.store.write(partial(insert, incident))


class TestRules(ListSuite):
    path = "/v1/rules"  # three rules are loaded already
    write = ("POST", "/v1/rules/reload", None)
    write_role = "admin"


class TestRuleValidation(ResourceSuite):
    path = "/v1/rules/validate"
    read_role = None
    write = ("POST", "/v1/rules/validate", "rules: []")
    write_role = "admin"


class TestTokens(ListSuite):
    path = "/v1/tokens"
    read_role = "admin"
    write = ("POST", "/v1/tokens", {"role": "operator", "name": "x"})
    write_role = "admin"

    def seed(self, api: OpsApi, count: int) -> None:
        for n in range(count):
            issue_token(api.store, "operator", f"desk {n}", api.clock())


class TestAudit(ListSuite):
    path = "/v1/audit"
    read_role = "admin"

    def seed(self, api: OpsApi, count: int) -> None:
        entries = [AuditRecord(api.clock(), "someone", "admin", "thing.do", f"t-{n}")
                   for n in range(count)]
        api.store.write(lambda tx: tx.add_audit(entries))


class TestKpis(ResourceSuite):
    path = "/v1/kpis"


class TestReconciliationConflicts(ResourceSuite):
    path = "/v1/reconciliation/conflicts"


class TestAlertmanagerIntake(ResourceSuite):
    path = "/v1/alertmanager"
    read_role = None
    write = ("POST", "/v1/alertmanager", {"version": "4"})
    write_role = "integration"


class TestEventIntake(ResourceSuite):
    path = "/v1/events"
    read_role = None
    write = ("POST", "/v1/events", {})
    write_role = "integration"


class TestReportIntake(ResourceSuite):
    path = "/v1/reports"
    read_role = None
    write = ("POST", "/v1/reports", {})
    write_role = "agent"
