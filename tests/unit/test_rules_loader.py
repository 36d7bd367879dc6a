from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rules.errors import RuleConfigError
from rules.loader import load_rules_file, parse_rules

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
rules:
  - name: filesystem-full
    metric: host.filesystem.used
    when: "> 90"
    clear: "< 85"
    for: 5m
    severity: major
    scope:
      ci_class: [Computer, Server]
      labels: {mountpoint: /}
    failure_mode: [mountpoint]
    labels: {team: infra}
"""


def test_a_valid_rule_loads_with_every_field() -> None:
    [rule] = parse_rules(GOOD)
    assert rule.name == "filesystem-full"
    assert rule.when.holds(91)
    assert not rule.when.holds(90)
    assert rule.clear.holds(84)
    assert not rule.clear.holds(85)
    assert rule.for_ == timedelta(minutes=5)
    assert rule.scope.ci_classes == {"Computer", "Server"}
    assert rule.scope.labels == (("mountpoint", "/"),)
    assert rule.kind == "threshold"
    assert rule.urgency == 2  # from severity major
    assert not rule.root_cause
    assert rule.labels == (("team", "infra"),)


def test_state_and_absence_rules() -> None:
    rules = parse_rules("""
rules:
  - {name: down, kind: state, metric: host.reachability, states: [down], severity: critical}
  - {name: silent, kind: absence, metric: agent.heartbeat, for: 5m, urgency: 1}
  - {name: jam, metric: printer.error, states: [jammed], root_cause: false}
""")
    down, silent, jam = rules
    assert down.states == {"down"}
    assert down.root_cause
    assert down.urgency == 1
    assert silent.kind == "absence"
    assert silent.for_ == timedelta(minutes=5)
    assert jam.kind == "state"
    assert not jam.root_cause


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  - {name: a, kind: state, metric: m}\n", "field 'states': required"),
        ("rules:\n  - {name: a, kind: absence, metric: m, when: '> 1'}\n",
         "field 'when': does not apply to absence rules"),
        ("rules:\n  - {name: a, kind: magic, metric: m}\n", "field 'kind': one of"),
        ("rules:\n  - {name: a, metric: m, when: '> 1', urgency: 7}\n", "field 'urgency'"),
    ],
)
def test_kind_specific_errors(text: str, message: str) -> None:
    with pytest.raises(RuleConfigError, match=message):
        parse_rules(text)


def test_clear_defaults_to_the_negation() -> None:
    [rule] = parse_rules("rules:\n  - {name: a, metric: m, when: '>= 3'}\n")
    assert rule.clear.holds(2.9)
    assert not rule.clear.holds(3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [", "<rules>:1: invalid YAML"),
        ("hello: 1", "<rules>:1: field 'rules': the file must hold a list `rules:`"),
        ("rules:\n  - name: a\n    metric: m\n    when: 'over 9000'\n",
         "<rules>:4: rule 'a': field 'when': required; a comparison"),
        ("rules:\n  - name: a\n    metric: m\n    when: '> 1'\n    for: soon\n",
         "<rules>:5: rule 'a': field 'for': a duration"),
        ("rules:\n  - name: a\n    metric: m\n    when: '> 1'\n    severity: meh\n",
         "<rules>:5: rule 'a': field 'severity': one of critical"),
        ("rules:\n  - name: a\n    metric: m\n    when: '> 1'\n    colour: red\n",
         "<rules>:5: rule 'a': field 'colour': unknown field"),
        ("rules:\n  - name: a\n    metric: m\n    when: '> 90'\n    clear: '< 95'\n",
         "<rules>:5: rule 'a': field 'clear': overlaps the open condition > 90"),
        ("rules:\n  - name: a\n    metric: m\n    when: '> 1'\n    scope: {ci_class: Toaster}\n",
         "<rules>:5: rule 'a': field 'scope': unknown CI class 'Toaster'"),
        ("rules:\n  - {name: a, metric: m, when: '> 1'}\n  - {name: a, metric: m, when: '> 1'}\n",
         "<rules>:3: rule 'a': field 'name': duplicate name"),
        ("rules:\n  - name: Bad Name\n    metric: m\n    when: '> 1'\n",
         "<rules>:2: rule 'Bad Name': field 'name': required"),
    ],
)
def test_errors_name_file_line_rule_and_field(text: str, message: str) -> None:
    with pytest.raises(RuleConfigError) as caught:
        parse_rules(text)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_shipped_rule_files_are_valid() -> None:
    for path in (ROOT / "etc").glob("*rules.yaml"):
        assert load_rules_file(path), path


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(RuleConfigError, match="cannot read"):
        load_rules_file(tmp_path / "nope.yaml")


def test_the_rule_book_knows_which_metrics_matter(tmp_path: Path) -> None:
    from rules.book import RuleBook

    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {name: a, metric: host.memory.used, when: '> 90'}\n")
    book = RuleBook.from_file(path)
    assert book.watched == {"host.memory.used"}
    path.write_text("rules:\n  - {name: b, kind: absence, metric: agent.heartbeat, for: 5m}\n")
    book.reload()
    assert book.watched == {"agent.heartbeat"}
