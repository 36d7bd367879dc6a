"""Read and validate a rules file (YAML). Every problem is a `RuleConfigError`
naming the file, line, rule and field, so `opsgraph rules check` can point at it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import yaml

from cmdb.classes import CLASSES
from rules.errors import RuleConfigError
from rules.model import (
    COMPARATORS,
    DEFAULT_URGENCY,
    SEVERITIES,
    Condition,
    Rule,
    RuleKind,
    Scope,
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_METRIC = re.compile(r"^[a-z][a-z0-9_.]*$")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_CONDITION = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_RULE_FIELDS = frozenset(
    ("name", "kind", "metric", "when", "clear", "states", "for", "clear_for", "severity",
     "urgency", "summary", "description", "scope", "failure_mode", "labels", "root_cause")
)


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping key."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if hasattr(k, "value")}
    mapping["__lines__"] = lines
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_rules_file(path: str | Path) -> list[Rule]:
    """The rules in `path`; `RuleConfigError` on the first problem found."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleConfigError(name, None, None, None, f"cannot read: {exc.strerror}") from None
    return parse_rules(text, name)


def parse_rules(text: str, path: str = "<rules>") -> list[Rule]:
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or "not valid YAML"
        raise RuleConfigError(path, line, None, None, f"invalid YAML: {reason}") from None
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RuleConfigError(path, 1, None, "rules", "the file must hold a list `rules:`")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(document["rules"]):
        rule = _rule(raw, path, index)
        if rule.name in seen:
            raise RuleConfigError(path, raw["__line__"], rule.name, "name", "duplicate name")
        seen.add(rule.name)
        rules.append(rule)
    return rules


def _rule(raw: object, path: str, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise RuleConfigError(path, None, f"#{index + 1}", None, "a rule must be a mapping")
    lines: dict[str, int] = raw.get("__lines__", {})
    name = raw.get("name")
    label = name if isinstance(name, str) else f"#{index + 1}"

    def fail(field: str, reason: str) -> RuleConfigError:
        return RuleConfigError(path, lines.get(field, raw["__line__"]), label, field, reason)

    unknown = sorted(k for k in raw if not k.startswith("__") and k not in _RULE_FIELDS)
    if unknown:
        raise fail(unknown[0], "unknown field")
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail("name", "required; lower-case letters, digits, '.', '_' or '-'")
    metric = raw.get("metric")
    if not isinstance(metric, str) or not _METRIC.match(metric):
        raise fail("metric", "required; a dotted lower-case metric name")
    kind = raw.get("kind") or ("state" if "states" in raw else "threshold")
    if kind not in ("threshold", "absence", "state"):
        raise fail("kind", "one of threshold, absence, state")
    severity = raw.get("severity", "warning")
    if severity not in SEVERITIES:
        raise fail("severity", f"one of {', '.join(SEVERITIES)}")
    urgency = raw.get("urgency", DEFAULT_URGENCY[severity])
    if urgency not in (1, 2, 3):
        raise fail("urgency", "1 (high), 2 (medium) or 3 (low)")
    texts = {f: raw.get(f, d) for f, d in (("summary", "{rule} on {ci}: {metric} is {value}"),
                                           ("description", ""))}
    for field, text in texts.items():
        if not isinstance(text, str) or (field == "summary" and not text.strip()):
            raise fail(field, "must be a non-empty string")
    root_cause = raw.get("root_cause", kind != "threshold")
    if not isinstance(root_cause, bool):
        raise fail("root_cause", "true or false")
    return Rule(
        name=name, kind=cast(RuleKind, kind), metric=metric, severity=severity, urgency=urgency,
        summary=texts["summary"], description=texts["description"],
        **_condition_fields(raw, kind, fail),
        for_=_duration(raw.get("for", "0s"), fail, "for"),
        clear_for=_duration(raw.get("clear_for", "0s"), fail, "clear_for"),
        scope=_scope(raw.get("scope", {}), fail),
        failure_mode=tuple(_strings(raw.get("failure_mode", []), fail, "failure_mode")),
        labels=tuple(sorted(_string_map(raw.get("labels", {}), fail, "labels").items())),
        root_cause=root_cause,
    )


def _condition_fields(raw: dict[str, Any], kind: str, fail: Any) -> dict[str, Any]:
    """`when`/`clear` for thresholds, `states` for state rules, nothing for absence."""
    misplaced = {"threshold": ("states",), "state": ("when", "clear"),
                 "absence": ("when", "clear", "states", "clear_for")}[kind]
    for field in misplaced:
        if field in raw:
            raise fail(field, f"does not apply to {kind} rules")
    if kind == "threshold":
        when = _condition(raw.get("when"), fail, "when")
        clear = _condition(raw["clear"], fail, "clear") if "clear" in raw else _negation(when)
        if _overlap(when, clear):
            raise fail("clear", f"overlaps the open condition {when}: both hold at once")
        return {"when": when, "clear": clear}
    if kind == "state":
        states = _strings(raw.get("states"), fail, "states") if "states" in raw else []
        if not states:
            raise fail("states", "required; the states that mean failure, e.g. [down]")
        return {"states": frozenset(states)}
    return {}


def _condition(raw: object, fail: Any, field: str) -> Condition:
    match = _CONDITION.match(str(raw)) if isinstance(raw, str | int | float) else None
    if match is None:
        raise fail(field, "required; a comparison such as '> 90' or '<= 0.5'")
    return Condition(match.group(1), float(match.group(2)))


def _negation(when: Condition) -> Condition:
    opposite = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
    assert set(opposite) == set(COMPARATORS)
    return Condition(opposite[when.op], when.threshold)


def _overlap(when: Condition, clear: Condition) -> bool:
    """Whether some value meets both conditions (then the incident could never settle)."""
    edges = (when.threshold, clear.threshold)
    probes = {e + d for e in edges for d in (-1e-6, 0.0, 1e-6)}
    probes |= {sum(edges) / 2, min(edges) - 1e9, max(edges) + 1e9}
    return any(when.holds(v) and clear.holds(v) for v in probes)


def _duration(raw: object, fail: Any, field: str) -> timedelta:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return timedelta(seconds=raw)
    match = _DURATION.match(raw) if isinstance(raw, str) else None
    if match is None:
        raise fail(field, "a duration such as 30s, 5m, 1h")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _scope(raw: object, fail: Any) -> Scope:
    if not isinstance(raw, dict):
        raise fail("scope", "must be a mapping of ci_class, attributes, location, labels")
    allowed = ("ci_class", "attributes", "location", "labels")
    unknown = sorted(k for k in raw if not k.startswith("__") and k not in allowed)
    if unknown:
        raise fail("scope", f"unknown key {unknown[0]!r}")
    classes = frozenset(_strings(raw.get("ci_class", []), fail, "scope"))
    bad = sorted(classes - set(CLASSES))
    if bad:
        raise fail("scope", f"unknown CI class {bad[0]!r}")
    return Scope(
        ci_classes=classes,
        attributes=tuple(sorted(_string_map(raw.get("attributes", {}), fail, "scope").items())),
        locations=frozenset(_strings(raw.get("location", []), fail, "scope")),
        labels=tuple(sorted(_string_map(raw.get("labels", {}), fail, "scope").items())),
    )


def _strings(raw: object, fail: Any, field: str) -> list[str]:
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise fail(field, "must be a string or a list of strings")
    return list(values)


def _string_map(raw: object, fail: Any, field: str) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise fail(field, "must be a mapping of strings")
    result = {str(k): v for k, v in raw.items() if not str(k).startswith("__")}
    if not all(isinstance(v, str) for v in result.values()):
        raise fail(field, "values must be strings")
    return result
