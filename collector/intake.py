"""Report intake: one agent report in, CMDB and incidents updated in one transaction.

Claiming the report id, reconciling the host, evaluating the rules and writing the
incident changes with their outbox entries all happen in the same write, so a
retried report is counted once and a crash leaves either all of it or none. A batch
is the same work for each of its reports, in order, in one write: all or none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cmdb.errors import CMDBError, StoreUnavailable
from cmdb.reconcile import reconcile_in
from cmdb.store import GraphStore, WriteTx
from collector.host import host_inventory, observations
from collector.report_model import AgentReport
from rules.book import RuleBook
from rules.context import Policy
from rules.errors import RulesError
from rules.persist import evaluate_in
from rules.view import StoreGraphView


@dataclass(frozen=True, slots=True)
class IntakeResult:
    report_id: str
    ci_id: str | None
    duplicate: bool
    incidents_changed: int = 0
    notifications: int = 0  # outbox entries written: the dispatcher has work


class BatchReportRefused(Exception):
    """Report `index` of a batch was refused by the CMDB or the rules (`cause`); the
    batch's write was rolled back, so none of its reports was accepted."""

    def __init__(self, index: int, cause: CMDBError | RulesError) -> None:
        super().__init__(f"report {index}: {cause}")
        self.index, self.cause = index, cause


class ReportIntake:
    """Accepts agent reports into `store`, evaluating `rules` against their metrics."""

    def __init__(self, store: GraphStore, rules: RuleBook, clock: Callable[[], datetime],
                 policy: Policy | None = None) -> None:
        self._store = store
        self._rules = rules
        self._clock = clock
        self._policy = policy or Policy()

    def accept(self, report: AgentReport) -> IntakeResult:
        now = self._clock()
        return self._store.write(lambda tx: self._accept_in(tx, report, now))

    def accept_batch(self, reports: Sequence[AgentReport]) -> list[IntakeResult]:
        """Accept each report as `accept` would, in order, in one write (one commit for
        the lot): a report id seen before, or earlier in the batch, is a duplicate.
        Raises `BatchReportRefused` naming the report the CMDB or the rules refused."""
        nows = [self._clock() for _ in reports]
        current = 0

        def work(tx: WriteTx) -> list[IntakeResult]:
            nonlocal current
            results: list[IntakeResult] = []
            for report, now in zip(reports, nows, strict=True):
                current = len(results)  # the report being accepted, if it fails
                results.append(self._accept_in(tx, report, now))
            return results

        try:
            return self._store.write(work)
        except StoreUnavailable:
            raise  # the store's fault, not the report's: the whole batch is retried
        except (CMDBError, RulesError) as exc:
            raise BatchReportRefused(current, exc) from exc

    def _accept_in(self, tx: WriteTx, report: AgentReport, now: datetime) -> IntakeResult:
        if not tx.claim_report(report.report_id, report.agent_id, now):
            owner = tx.cis_by_keys([f"agent:{report.agent_id}"])
            return IntakeResult(report.report_id, owner.get(f"agent:{report.agent_id}"), True)
        inventory = host_inventory(report, report.inventory)
        [reconciled] = reconcile_in(tx, [inventory], now)
        observed = observations(report, reconciled.ci_id, now, self._rules.watched)
        view = StoreGraphView(self._store, [reconciled.ci] if reconciled.ci else [])
        _, changes = evaluate_in(tx, self._rules.rules, observed, view, self._policy, now)
        return IntakeResult(report.report_id, reconciled.ci_id, False, len(changes.incidents),
                            len(changes.outbox))
