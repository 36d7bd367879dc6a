"""A YAML policy document whose every mapping remembers its line, and typed readers
that turn a bad value into a `RuleConfigError` naming the file, line and field.

Fields are named by their dotted path from the top of the file, with list items
named by their `name` once it is known (`maintenance.windows[printer-firmware].end`),
so a message reads `etc/policy.yaml:41: field 'maintenance.windows[printer-firmware].end':
...`. Duplicate keys are refused: YAML would silently keep the last one.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from rules.errors import RuleConfigError

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
NAME_RULE = "lower-case letters, digits, '.', '_' or '-'"
_DURATION = re.compile(r"^(?:\d+[wdhms])+$")
_DURATION_PART = re.compile(r"(\d+)([wdhms])")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_LINES, _LINE = "__lines__", "__line__"


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping and mapping key."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    mapping = loader.construct_mapping(node, deep=True)
    mapping[_LINES] = {k.value: k.start_mark.line + 1 for k, _ in node.value
                       if hasattr(k, "value")}
    mapping[_LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_document(path: str | Path, top: str = "") -> Section:
    """The document in `path` (the only I/O in `rules.policy`)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleConfigError(name, None, None, None, f"cannot read: {exc.strerror}") from None
    return parse_document(text, name, top)


def parse_document(text: str, path: str, top: str = "") -> Section:
    """`text` as a top-level mapping; an empty document is an empty mapping."""
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or "not valid YAML"
        raise RuleConfigError(path, line, None, None, f"invalid YAML: {reason}") from None
    if document is None:
        document = {_LINES: {}, _LINE: 1}
    if not isinstance(document, dict):
        raise RuleConfigError(path, 1, None, top or None, "the file must hold a mapping")
    return Section(path, "", document)


def parse_duration(text: str) -> timedelta | None:
    """`90s`, `15m`, `4h`, `1h30m`, `3d`, `2w`; None if `text` is not one."""
    if not _DURATION.match(text):
        return None
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _DURATION_PART.findall(text)))


@dataclass(frozen=True, slots=True)
class Section:
    """One mapping of the document, where it is, and readers for its fields."""

    path: str
    prefix: str
    raw: dict[Any, Any]

    @property
    def line(self) -> int | None:
        line = self.raw.get(_LINE)
        return line if isinstance(line, int) else None

    def field(self, key: str | None) -> str | None:
        if key is None:
            return self.prefix or None
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str | None, reason: str) -> RuleConfigError:
        """An error at `key` (or at the mapping itself when `key` is None)."""
        line = self.raw.get(_LINES, {}).get(key, self.line) if key is not None else self.line
        return RuleConfigError(self.path, line, None, self.field(key), reason)

    def fields(self) -> list[object]:
        """The keys the author wrote (YAML keys need not be strings: `1:` is an int)."""
        return [k for k in self.raw if not (isinstance(k, str) and k.startswith("__"))]

    def only(self, allowed: Collection[str]) -> None:
        """Refuse any key not in `allowed` (a typo must not silently mean 'default')."""
        for key in self.fields():
            if not isinstance(key, str) or key not in allowed:
                raise self.fail(str(key), f"unknown field; expected one of {', '.join(allowed)}")

    def has(self, key: str) -> bool:
        return key in self.raw

    def value(self, key: object) -> object:
        return self.raw.get(key)

    def renamed(self, prefix: str) -> Section:
        return Section(self.path, prefix, self.raw)

    def named(self, template: str) -> Section:
        """This list item named by its `name` (`template` holds one `{}`), if valid."""
        name = self.raw.get("name")
        if isinstance(name, str) and NAME.match(name):
            return self.renamed(template.format(name))
        return self

    def section(self, key: object) -> Section:
        """The mapping at `key`; an empty one when `key` is absent."""
        raw, name = self.raw.get(key), str(key)
        if raw is None:
            return Section(self.path, self.field(name) or name, {_LINES: {}, _LINE: self.line})
        if not isinstance(raw, dict):
            raise self.fail(name, "must be a mapping")
        return Section(self.path, self.field(name) or name, raw)

    def items(self, key: str) -> Iterator[Section]:
        """The mappings in the list at `key`, named `key[1]`, `key[2]`, ... ."""
        raw = self.raw.get(key, [])
        if not isinstance(raw, list):
            raise self.fail(key, "must be a list")
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                raise self.fail(key, f"item {index + 1} must be a mapping")
            yield Section(self.path, f"{self.field(key)}[{index + 1}]", item)

    def name(self, key: str = "name") -> str:
        raw = self.raw.get(key)
        if not isinstance(raw, str) or not NAME.match(raw):
            raise self.fail(key, f"required; {NAME_RULE}")
        return raw

    def text(self, key: str, default: str | None = None) -> str:
        raw = self.raw.get(key, default)
        if not isinstance(raw, str) or not raw.strip():
            raise self.fail(key, "required; a non-empty string" if raw is None
                            else "must be a non-empty string")
        return raw

    def texts(self, key: str) -> tuple[str, ...]:
        """A string or a list of non-empty strings; () when absent."""
        raw = self.raw.get(key, [])
        values = [raw] if isinstance(raw, str) else raw
        if not isinstance(values, list) or not all(
                isinstance(v, str) and v.strip() for v in values):
            raise self.fail(key, "must be a non-empty string or a list of them")
        if len(set(values)) != len(values):
            raise self.fail(key, "lists a value twice")
        return tuple(values)

    def duration(self, key: str, default: timedelta, allow_zero: bool = False) -> timedelta:
        raw = self.raw.get(key)
        if raw is None:
            return default
        parsed = parse_duration(raw) if isinstance(raw, str) else None
        if parsed is None or parsed < timedelta(0) or (parsed == timedelta(0) and not allow_zero):
            kind = "duration" if allow_zero else "positive duration"
            raise self.fail(key, f"a {kind} such as 30s, 15m, 4h, 1h30m, 3d, 2w")
        return parsed

    def integer(self, key: str, default: int, minimum: int, maximum: int | None = None) -> int:
        raw = self.raw.get(key, default)
        too_big = maximum is not None and isinstance(raw, int) and raw > maximum
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum or too_big:
            bounds = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise self.fail(key, f"a whole number {bounds}")
        return raw

    def fraction(self, key: str, default: float) -> float:
        raw = self.raw.get(key, default)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw < 1:
            raise self.fail(key, "a number between 0 and 1 (exclusive), e.g. 0.75")
        return float(raw)

    def flag(self, key: str, default: bool) -> bool:
        raw = self.raw.get(key, default)
        if not isinstance(raw, bool):
            raise self.fail(key, "must be true or false")
        return raw
