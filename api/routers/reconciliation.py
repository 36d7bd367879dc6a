"""`/v1/reconciliation`: evidence that named two CIs, kept for an operator to settle."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from api.auth import Operator
from api.deps import StoreDep

router = APIRouter(prefix="/v1/reconciliation", tags=["cis"])


class ConflictOut(BaseModel):
    source: str
    chosen_ci_id: str
    other_ci_id: str
    key: str
    at: datetime


@router.get("/conflicts", response_model=list[ConflictOut])
def list_conflicts(_: Operator, store: StoreDep) -> list[ConflictOut]:
    """Payloads whose identity evidence matched two CIs: the CI chosen (strongest key)
    and the other one the weaker key named. Nothing was merged."""
    return [ConflictOut(source=c.source, chosen_ci_id=c.chosen_ci_id,
                        other_ci_id=c.other_ci_id, key=c.key, at=c.at)
            for c in store.conflicts()]
