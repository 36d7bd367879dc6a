"""The rules a running server evaluates, swappable without a restart."""

from __future__ import annotations

import threading
from pathlib import Path

from rules.loader import load_rules_file
from rules.model import Rule


class RuleBook:
    """Holds the current rules. `reload()` validates the file first: a bad file raises
    `RuleConfigError` and the rules already loaded keep running."""

    def __init__(self, path: Path | None, rules: list[Rule] | None = None) -> None:
        self.path = path
        self._rules: tuple[Rule, ...] = tuple(rules or ())
        self._watched = frozenset(rule.metric for rule in self._rules)
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path | None) -> RuleBook:
        return cls(path, load_rules_file(path) if path else [])

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    @property
    def watched(self) -> frozenset[str]:
        """The metric names some rule looks at: others need no evaluation."""
        return self._watched

    def reload(self) -> tuple[Rule, ...]:
        if self.path is None:
            return self._rules
        fresh = tuple(load_rules_file(self.path))
        with self._lock:
            self._rules = fresh
            self._watched = frozenset(rule.metric for rule in fresh)
        return fresh
