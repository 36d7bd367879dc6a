"""Event intake: Prometheus Alertmanager webhooks and generic events, bound to CIs and
evaluated by the same rules as agent reports.

get (the HTTP body) -> transform (pure: `alertmanager_signals`, `event_signal`) ->
load (`EventIntake.accept`: one write transaction per payload).

Binding: the first of the configured labels (`instance`, `host`, `hostname`) that
holds a host name names the CI, its port stripped (`web01:9100`, `[2001:db8::1]:9100`);
only when none holds a name does the first address name it.
A name reconciles as identity `fqdn` (when dotted) and `hostname`, so an alert on
`pc-0042.corp.example:9100` lands on the CI the agent on pc-0042 reports; an IP
address, which the CMDB does not use as identity, reconciles by name alone. The class
comes from the `ci_class` label when it names a declared class, else `Server`. An
alert with no host label is not bound and is answered as `unbound`.

Each alert becomes a state observation `alertmanager.alert` (`firing`/`resolved`)
labelled with its labels plus its annotations as `annotation_<name>`; each event a
state observation `event` (`firing` on trigger, `resolved` on resolve) labelled
`dedup_key`, `severity`, `summary`, `source` and its own labels. Rules match them
like any observation, e.g.::

    - name: alertmanager
      kind: state
      metric: alertmanager.alert
      states: [firing]
      failure_mode: [alertname]
      summary: "{ci}: {label.alertname} {label.annotation_summary}"

Deduplication: an alert is claimed by Alertmanager fingerprint + startsAt + status,
so a resent payload changes nothing; an event by its `event_id`, else by `dedup_key`
+ `event_action` + `timestamp` when it has a timestamp. An event with neither is
evaluated every time it comes (a repeated trigger counts an occurrence on the one
incident its `dedup_key` names).
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cmdb.classes import CLASSES
from cmdb.reconcile import reconcile_in
from cmdb.store import GraphStore, WriteTx
from collector.event_model import AlertmanagerPayload, GenericEvent
from collector.observation import Inventory, Observation
from rules.book import RuleBook
from rules.context import Policy
from rules.persist import evaluate_in
from rules.view import StoreGraphView

ALERT_METRIC = "alertmanager.alert"
EVENT_METRIC = "event"
ALERTMANAGER = "alertmanager"
EVENT = "event"


@dataclass(frozen=True, slots=True)
class HostBinding:
    """Which labels name an alert's host, and which one its CI class."""

    labels: tuple[str, ...] = ("instance", "host", "hostname")
    class_label: str = "ci_class"
    default_class: str = "Server"


@dataclass(frozen=True, slots=True)
class EventSignal:
    """One alert or event, reduced to what intake needs."""

    key: str
    claim_id: str | None
    source: str
    host: str | None
    ci_class: str
    metric: str
    state: str
    labels: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class EventResult:
    accepted: int = 0
    duplicates: int = 0
    unbound: tuple[str, ...] = ()
    ci_ids: dict[str, str] = field(default_factory=dict)
    incidents_changed: int = 0


def host_of(value: str) -> str | None:
    """The host part of an `instance`-like value, lower-cased, port stripped."""
    text = value.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1].split("/", 1)[0]
    if text.startswith("["):  # [v6]:port
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".") or None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _bind(labels: dict[str, str], binding: HostBinding) -> tuple[str | None, str]:
    hosts = [h for h in (host_of(labels[n]) for n in binding.labels if labels.get(n)) if h]
    # A name identifies a CI, an address does not: prefer the first name.
    host = next((h for h in hosts if not _is_address(h)), hosts[0] if hosts else None)
    ci_class = labels.get(binding.class_label, "")
    return host, ci_class if ci_class in CLASSES else binding.default_class


def alertmanager_signals(payload: AlertmanagerPayload, binding: HostBinding
                         ) -> list[EventSignal]:
    """One signal per alert of a webhook payload (version 4)."""
    signals = []
    for alert in payload.alerts:
        labels = dict(alert.labels)
        host, ci_class = _bind(labels, binding)
        labels.update((f"annotation_{k}", v) for k, v in alert.annotations.items())
        key = alert.fingerprint or _fingerprint(alert.labels)
        claim = f"am:{key}:{alert.starts_at.isoformat()}:{alert.status}"
        signals.append(EventSignal(key, claim, ALERTMANAGER, host, ci_class, ALERT_METRIC,
                                   alert.status, tuple(sorted(labels.items()))))
    return signals


def _fingerprint(labels: dict[str, str]) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, repr(sorted(labels.items()))).hex[:16]


def event_signal(event: GenericEvent, binding: HostBinding) -> EventSignal:
    """The signal of one generic event."""
    labels = {**event.labels, "dedup_key": event.dedup_key, "severity": event.severity,
              "source": event.source, "summary": event.summary}
    host = host_of(event.host or event.source)
    ci_class = event.ci_class if event.ci_class in CLASSES else binding.default_class
    if event.event_id:
        claim: str | None = f"event:{event.event_id}"
    elif event.timestamp is not None:
        claim = f"event:{event.dedup_key}:{event.event_action}:{event.timestamp.isoformat()}"
    else:
        claim = None
    state = "firing" if event.event_action == "trigger" else "resolved"
    return EventSignal(event.dedup_key, claim, EVENT, host, ci_class, EVENT_METRIC, state,
                       tuple(sorted(labels.items())))


def inventory_of(signal: EventSignal, now: datetime) -> Inventory:
    """What an alert tells the CMDB: that its host exists, and its name."""
    assert signal.host is not None
    if _is_address(signal.host):
        identity: dict[str, object] = {"name": signal.host}
        attributes: dict[str, object] = {"name": signal.host}
    else:
        identity = {"hostname": signal.host, "fqdn": signal.host}
        attributes = {"fqdn" if "." in signal.host else "hostname": signal.host}
    return Inventory(signal.source, signal.ci_class, identity, attributes, now)


class EventIntake:
    """Accepts alert and event signals into `store`, evaluating `rules` on them."""

    def __init__(self, store: GraphStore, rules: RuleBook, clock: Callable[[], datetime],
                 policy: Callable[[], Policy] = Policy,
                 evaluated: Callable[[str, float], None] = lambda source, seconds: None
                 ) -> None:
        self._store, self._rules, self._clock, self._policy = store, rules, clock, policy
        self._evaluated = evaluated

    def accept(self, signals: Sequence[EventSignal]) -> EventResult:
        now = self._clock()
        policy = self._policy()
        return self._store.write(lambda tx: self._accept_in(tx, signals, policy, now))

    def _accept_in(self, tx: WriteTx, signals: Sequence[EventSignal], policy: Policy,
                   now: datetime) -> EventResult:
        unbound = tuple(s.key for s in signals if s.host is None)
        fresh: list[EventSignal] = []
        for signal in signals:
            if signal.host is None:
                continue
            # Undeduplicated events are still claimed, so KPIs can count what came in.
            claim = signal.claim_id or f"{signal.source}:{uuid.uuid4()}"
            if tx.claim_report(claim, signal.source, now):
                fresh.append(signal)
        if not fresh:
            return EventResult(0, len(signals) - len(unbound), unbound)
        reconciled = reconcile_in(tx, [inventory_of(s, now) for s in fresh], now)
        ci_ids = {s.key: r.ci_id for s, r in zip(fresh, reconciled, strict=True)}
        observed = [Observation(ci_id=r.ci_id, name=s.metric, observed_at=now,
                                source=s.source, state=s.state, labels=s.labels)
                    for s, r in zip(fresh, reconciled, strict=True)]
        view = StoreGraphView(self._store, tx.load_cis(sorted(set(ci_ids.values()))).values())
        started = time.perf_counter()
        _, changes = evaluate_in(tx, self._rules.rules, observed, view, policy, now)
        self._evaluated(fresh[0].source, time.perf_counter() - started)
        return EventResult(len(fresh), len(signals) - len(unbound) - len(fresh), unbound,
                           ci_ids, len(changes.incidents))
