"""The rules package's exceptions.

    RulesError
    └── RuleConfigError   a rules file that cannot be used; `str()` is one line naming
                          the file, line, rule and field (CLI exit 1, HTTP 422)
"""

from __future__ import annotations


class RulesError(Exception):
    """Base of every rules error."""


class RuleConfigError(RulesError):
    """One problem in a rules file, located precisely."""

    def __init__(self, path: str, line: int | None, rule: str | None, field: str | None,
                 reason: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        parts = [where]
        if rule:
            parts.append(f"rule {rule!r}")
        if field:
            parts.append(f"field {field!r}")
        super().__init__(": ".join([*parts, reason]))
        self.path, self.line, self.rule, self.field, self.reason = path, line, rule, field, reason
