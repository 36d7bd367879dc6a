"""The routing tree: which receivers and which assignment group an incident goes to.

Semantics are Alertmanager's (`dispatch/route.go`): the root route matches every
incident and is the default. Matching is depth-first: a route matches when all its
matchers do; its children are tried in order and the first that matches wins,
unless that child says `continue: true`, in which case its later siblings are tried
too (fan-out). A matched route with no matching child is where the incident goes. A
route without its own `receiver(s)` or `group` inherits its parent's.

Matchable fields are `ci_class`, `ci_name`, `location`, `owner_group`,
`support_group` (from the CMDB), `rule`, `severity`, `priority` ("1".."5") and any
incident or rule label as `label.<name>`; any other key is a load error, so a typo
cannot silently never match. A field the incident lacks reads as "" (as in
Alertmanager: `match: {location: ""}` matches incidents with no location).
`match` is equality; `match_re` is a regular expression anchored at both ends, so
`HQ.*` means "starts with HQ". A pattern anchored at one end only (`^HQ`) is
refused: anchored once more it would match nothing but "HQ", which is never what
its author meant.

With fan-out the receivers of every matched route are notified (in tree order,
each once). A ticket has one owner, so the assignment group is the first matched
route's, skipping routes whose group is only the root's default: a route that just
adds receivers (a pager fan-out with `continue: true` and no `group`) does not take
the ticket from a team route after it. If every matched route has the default
group, that is the group.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from cmdb.classes import CLASSES
from rules.model import SEVERITIES
from rules.policy.document import Section, parse_document, read_document

CMDB_FIELDS = ("ci_class", "ci_name", "location", "owner_group", "support_group")
INCIDENT_FIELDS = ("rule", "severity", "priority")
LABEL_PREFIX = "label."
_ROOT_FIELDS = ("name", "receiver", "receivers", "group", "routes")
_ROUTE_FIELDS = (*_ROOT_FIELDS, "match", "match_re", "continue")
_KNOWN_VALUES: dict[str, Collection[str]] = {
    "ci_class": CLASSES, "severity": SEVERITIES, "priority": ("1", "2", "3", "4", "5")}
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class RoutingInput:
    """What routing may ask of an incident: CMDB facts about its CI, and the rule's."""

    ci_class: str | None = None
    ci_name: str | None = None
    location: str | None = None
    owner_group: str | None = None
    support_group: str | None = None
    rule: str | None = None
    severity: str | None = None
    priority: int | None = None
    labels: tuple[tuple[str, str], ...] = ()

    def value(self, field: str) -> str:
        """The value a matcher on `field` sees; "" when the incident has none."""
        if field.startswith(LABEL_PREFIX):
            name = field[len(LABEL_PREFIX):]
            return next((v for k, v in self.labels if k == name), "")
        raw: object = getattr(self, field)
        return "" if raw is None else str(raw)


@dataclass(frozen=True, slots=True)
class Matcher:
    """`field == equals`, or `field` fully matching `regex`."""

    field: str
    equals: str | None = None
    regex: re.Pattern[str] | None = None

    def matches(self, incident: RoutingInput) -> bool:
        actual = incident.value(self.field)
        if self.regex is not None:
            return self.regex.fullmatch(actual) is not None
        return actual == self.equals

    def __str__(self) -> str:
        if self.regex is not None:
            return f"{self.field}=~{self.regex.pattern!r}"
        return f"{self.field}={self.equals!r}"


@dataclass(frozen=True, slots=True)
class Route:
    """A node of the tree, with inheritance already applied: `receivers` and `group`
    are what an incident that stops here gets."""

    name: str
    receivers: tuple[str, ...]
    group: str | None
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    routes: tuple[Route, ...] = ()
    # `group` set here or on an ancestor below the root: more than the default.
    specific_group: bool = False

    def matches(self, incident: RoutingInput) -> bool:
        return all(m.matches(incident) for m in self.matchers)


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """Where an incident goes. `routes` names each matched route by its path from the
    root (`default/network/hq-core`), so an operator can see why."""

    receivers: tuple[str, ...]
    assignment_group: str | None
    routes: tuple[str, ...]


def route(tree: Route, incident: RoutingInput) -> RoutingDecision:
    """Where `incident` goes in `tree` (the root route always matches)."""
    matched = _match(tree, incident, "")
    receivers: dict[str, None] = {}
    for _, node in matched:
        receivers.update(dict.fromkeys(node.receivers))
    owner = next((node for _, node in matched if node.specific_group), matched[0][1])
    return RoutingDecision(
        receivers=tuple(receivers),
        assignment_group=owner.group,
        routes=tuple(path for path, _ in matched),
    )


def _match(node: Route, incident: RoutingInput, parent: str) -> list[tuple[str, Route]]:
    path = f"{parent}/{node.name}" if parent else node.name
    found: list[tuple[str, Route]] = []
    for child in node.routes:
        if not child.matches(incident):
            continue
        found.extend(_match(child, incident, path))
        if not child.continue_:
            break
    return found or [(path, node)]


def referenced_receivers(tree: Route) -> frozenset[str]:
    """Every receiver name the tree can route to (to check against the receivers file)."""
    names = set(tree.receivers)
    for child in tree.routes:
        names |= referenced_receivers(child)
    return frozenset(names)


# Configuration ----------------------------------------------------------------------


def load_routing(path: str | Path, known_receivers: Collection[str] | None = None) -> Route:
    """The routing tree in `path`; `RuleConfigError` naming file:line and field on the
    first problem. With `known_receivers`, a receiver not among them is a problem too."""
    return _tree(read_document(path, "route"), known_receivers)


def parse_routing(text: str, path: str = "<routing>",
                  known_receivers: Collection[str] | None = None) -> Route:
    return _tree(parse_document(text, path, "route"), known_receivers)


def _tree(document: Section, known: Collection[str] | None) -> Route:
    document.only(("route",))
    if not document.has("route"):
        raise document.fail("route", "required: the root (default) route")
    root = document.section("route")
    root.only(_ROOT_FIELDS)
    name = root.name() if root.has("name") else "default"
    receivers = _receivers(root, known)
    if not receivers:
        raise root.fail(None, "the root route is the default: it needs `receiver` or `receivers`")
    group = root.text("group") if root.has("group") else None
    seen = {name}
    routes = tuple(_route(child, _Inherited(receivers, group, False), known, seen)
                   for child in root.items("routes"))
    return Route(name, receivers, group, routes=routes)


@dataclass(frozen=True, slots=True)
class _Inherited:
    receivers: tuple[str, ...]
    group: str | None
    specific_group: bool


def _route(raw: Section, parent: _Inherited, known: Collection[str] | None,
           seen: set[str]) -> Route:
    section = raw.named("route[{}]")
    section.only(_ROUTE_FIELDS)
    name = section.name()
    if name in seen:
        raise section.fail("name", f"another route is already called {name!r}")
    seen.add(name)
    matchers = (*_matchers(section, "match"), *_matchers(section, "match_re"))
    if not matchers:
        raise section.fail(None, "a child route needs `match` or `match_re` "
                                 "(without them it would catch everything)")
    own = _Inherited(
        receivers=_receivers(section, known) or parent.receivers,
        group=section.text("group") if section.has("group") else parent.group,
        specific_group=section.has("group") or parent.specific_group,
    )
    children = tuple(_route(c, own, known, seen) for c in section.items("routes"))
    return Route(name, own.receivers, own.group, matchers, section.flag("continue", False),
                 children, own.specific_group)


def _receivers(section: Section, known: Collection[str] | None) -> tuple[str, ...]:
    if section.has("receiver") and section.has("receivers"):
        raise section.fail("receivers", "give `receiver` or `receivers`, not both")
    key = "receiver" if section.has("receiver") else "receivers"
    if not section.has(key):
        return ()
    names = (section.text(key),) if key == "receiver" else section.texts(key)
    if not names:
        raise section.fail(key, "must name at least one receiver")
    unknown = [n for n in names if known is not None and n not in known]
    if unknown:
        raise section.fail(key, f"unknown receiver {unknown[0]!r}")
    return names


def _matchers(section: Section, key: str) -> list[Matcher]:
    raw = section.section(key)
    matchers: list[Matcher] = []
    for field in raw.fields():
        if not isinstance(field, str) or not _matchable(field):
            raise raw.fail(str(field), "not a matchable field; use one of "
                           f"{', '.join((*CMDB_FIELDS, *INCIDENT_FIELDS))} or label.<name>")
        value = raw.value(field)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # `priority: 1` is the natural way to write it
        if not isinstance(value, str):
            raise raw.fail(field, "must be a string (quote YAML words like yes, no, on, off)")
        if key == "match":
            matchers.append(_equality(raw, field, value))
        else:
            matchers.append(Matcher(field, regex=_regex(raw, field, value)))
    return matchers


def _matchable(field: str) -> bool:
    if field.startswith(LABEL_PREFIX):
        return bool(_LABEL_NAME.match(field[len(LABEL_PREFIX):]))
    return field in CMDB_FIELDS or field in INCIDENT_FIELDS


def _equality(raw: Section, field: str, value: str) -> Matcher:
    allowed = _KNOWN_VALUES.get(field)
    if allowed is not None and value not in allowed:
        raise raw.fail(field, f"{value!r} can never match; expected one of {', '.join(allowed)}")
    return Matcher(field, equals=value)


def _regex(raw: Section, field: str, pattern: str) -> re.Pattern[str]:
    starts, ends = pattern.startswith("^"), pattern.endswith("$") and not pattern.endswith("\\$")
    if starts != ends:  # "^HQ" would only match "HQ": the author meant "starts with"
        hint = f"{pattern[1:]}.*" if starts else f".*{pattern[:-1]}"
        raise raw.fail(field, f"match_re is anchored at both ends already; "
                              f"write {hint!r} to match {'the start' if starts else 'the end'}")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise raw.fail(field, f"invalid regular expression: {exc}") from None
