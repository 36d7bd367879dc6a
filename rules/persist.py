"""Run the evaluation core inside a store write transaction.

Incident changes, their timeline, the rule timers and the outbox entries of one
evaluation are written in the caller's transaction, so nothing is decided without
being delivered, and a retried transaction (another writer took a unique key first)
re-reads and re-decides from the committed state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cmdb.store import WriteTx
from collector.observation import Observation
from rules.context import Decision, Policy
from rules.engine import evaluate, tick
from rules.ledger import Changes, TxLedger
from rules.model import Rule
from rules.view import GraphView


def evaluate_in(tx: WriteTx, rules: Sequence[Rule], observations: Sequence[Observation],
                view: GraphView, policy: Policy, now: datetime
                ) -> tuple[list[Decision], Changes]:
    ledger = TxLedger(tx)
    decisions = evaluate(rules, observations, view, ledger, policy, now)
    return decisions, ledger.flush()


def tick_in(tx: WriteTx, rules: Sequence[Rule], view: GraphView, policy: Policy,
            now: datetime) -> tuple[list[Decision], Changes]:
    ledger = TxLedger(tx)
    decisions = tick(rules, view, ledger, policy, now)
    return decisions, ledger.flush()
