"""Incident texts from rule templates: `{name}` placeholders only, no format
mini-language, so a rule author cannot reach into Python objects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.context import Signal
    from rules.view import CIView

_PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[A-Za-z0-9_]+)?)\}")


def render(template: str, fields: Mapping[str, str]) -> str:
    """`{name}` placeholders from `fields`; unknown ones stay as written."""
    return _PLACEHOLDER.sub(lambda m: fields.get(m.group(1), m.group(0)), template)


def incident_texts(signal: Signal, ci: CIView | None) -> tuple[str, str]:
    """(summary, description) of the incident `signal` opens."""
    rule = signal.rule
    fields = {
        "rule": rule.name,
        "ci": ci.name if ci else signal.ci_id,
        "ci_class": ci.ci_class if ci else "",
        "metric": rule.metric,
        "value": f"{signal.value:g}" if signal.value is not None else "",
        "state": signal.state or "",
        "threshold": str(rule.when) if rule.when else "",
        "for": str(rule.for_),
        **{f"label.{k}": v for k, v in signal.labels},
    }
    return render(rule.summary, fields)[:1024], render(rule.description, fields)
