"""Jira through a local REST double: v2 and v3 create-issue bodies, resolve through the
workflow's transition, reopen, comments, and the best-effort label search after a
lost response."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from cmdb.store import GraphStore
from rules.notify.dispatcher import Dispatcher
from rules.notify.jira import JiraReceiver, JiraSettings
from rules.notify.redact import Secret
from rules.notify.state import DeliveryStore
from tests.conftest import Clock
from tests.integration.notify.fake_jira import EMAIL, TOKEN, FakeJira
from tests.integration.notify.outbox import enqueue, entry, incident, resolved


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    vendor = FakeJira()
    with vendor.running():
        yield vendor


def settings(jira: FakeJira, **changes: Any) -> JiraSettings:
    base: dict[str, Any] = {"name": "jira", "base_url": jira.url, "project_key": "OPS",
                            "issue_type": "Incident", "username": EMAIL, "token": Secret(TOKEN),
                            "labels": ("monitoring",), "timeout": 5.0}
    return JiraSettings(**{**base, **changes})


def deliver_all(delivery: DeliveryStore, receiver: JiraReceiver, clock: Clock | None = None,
                rounds: int = 10) -> Dispatcher:
    options: dict[str, Any] = {"clock": clock} if clock else {}
    worker = Dispatcher(delivery, {"jira": receiver}, owner="d1", **options)

    async def scenario() -> None:
        for _ in range(rounds):
            if await worker.run_once() == 0:
                break
            if clock is not None:
                clock.advance(minutes=10)
        await receiver.aclose()

    asyncio.run(scenario())
    return worker


@pytest.mark.parametrize("version", [2, 3])
def test_open_creates_an_issue_and_resolve_moves_it_to_done(
        jira: FakeJira, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore,
        version: int) -> None:
    item = incident(1)
    enqueue(sqlite_store, [entry(item, "opened", "jira"),
                           entry(resolved(item), "resolved", "jira")])

    deliver_all(sqlite_delivery, JiraReceiver(settings(jira, api_version=version)))

    [issue] = jira.unique()
    fields = issue["fields"]
    assert fields["summary"] == item.summary
    assert fields["priority"] == {"name": "Medium"}  # priority 3
    assert f"opsgraph-{item.id}" in fields["labels"]
    assert "monitoring" in fields["labels"]
    assert isinstance(fields["description"], dict if version == 3 else str)
    assert issue["status"]["statusCategory"]["key"] == "done"
    assert jira.transitions_done == ["OPS-1"]
    calls = [(r.method, r.path.split(f"/rest/api/{version}/")[1]) for r in jira.requests]
    assert calls == [("POST", "issue"), ("GET", "issue/OPS-1"), ("GET", "issue/OPS-1/transitions"),
                     ("POST", "issue/OPS-1/transitions")]
    ref = sqlite_delivery.ticket_ref(item.id, "jira")
    assert ref is not None
    assert (ref.external_id, ref.external_key) == ("10001", "OPS-1")


def test_a_resolve_retried_after_it_went_through_does_not_fail(
        jira: FakeJira, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore) -> None:
    item = incident(1)
    enqueue(sqlite_store, [entry(item, "opened", "jira"), entry(resolved(item), "resolved", "jira"),
                           entry(resolved(item), "resolved", "jira")])

    worker = deliver_all(sqlite_delivery, JiraReceiver(settings(jira)))

    assert jira.transitions_done == ["OPS-1"]  # the second found it done already
    assert worker.stats.delivered == 3
    assert worker.stats.dead == 0


def test_after_a_lost_create_response_the_label_search_finds_the_issue(
        jira: FakeJira, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore,
        clock: Clock) -> None:
    item = incident(1)
    enqueue(sqlite_store, [entry(item, "opened", "jira")])
    jira.drop_creates = 1

    deliver_all(sqlite_delivery, JiraReceiver(settings(jira)), clock)

    assert len(jira.unique()) == 1
    search = next(r for r in jira.requests if r.path.endswith("/search/jql"))
    assert search.query["jql"] == f'project = "OPS" AND labels = "opsgraph-{item.id}"'
    ref = sqlite_delivery.ticket_ref(item.id, "jira")
    assert ref is not None
    assert ref.external_key == "OPS-1"


def test_reopen_moves_the_issue_back_and_comments(
        jira: FakeJira, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore) -> None:
    item = incident(1)
    enqueue(sqlite_store, [entry(item, "opened", "jira"), entry(resolved(item), "resolved", "jira"),
                           entry(item, "reopened", "jira"), entry(item, "escalated", "jira")])

    deliver_all(sqlite_delivery, JiraReceiver(settings(jira, api_version=3)))

    [issue] = jira.unique()
    assert issue["status"]["name"] == "To Do"
    assert len(issue["comments"]) == 2
    assert issue["comments"][1]["type"] == "doc"  # ADF on v3


def test_a_field_jira_refuses_is_a_dead_letter_with_its_errors(
        jira: FakeJira, sqlite_store: GraphStore, sqlite_delivery: DeliveryStore) -> None:
    enqueue(sqlite_store, [entry(incident(1), "opened", "jira")])

    deliver_all(sqlite_delivery, JiraReceiver(settings(
        jira, priorities={"3": "Urgent-ish"})))

    [dead] = sqlite_delivery.dead_letters().items
    assert dead.status == 400
    assert dead.body is not None
    assert '"priority"' in dead.body
    assert TOKEN not in dead.body + dead.error
