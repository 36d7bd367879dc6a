"""Operator actions on incidents over HTTP, on each store: If-Match/ETag, the
lifecycle and its illegal transitions, the timeline, notifications, and what the
engine does after an operator resolved an incident whose condition still holds."""

from __future__ import annotations

from dataclasses import replace

from cmdb.records import Incident
from tests.conftest import Clock
from tests.integration.api.conftest import OpsApi

PROBLEM = "application/problem+json"


def opened(api: OpsApi) -> tuple[str, str]:
    """An open incident (the disk rule on pc-0042) and its ETag."""
    api.report()
    [incident] = api.incidents()
    _, etag = api.incident(incident["id"])
    return incident["id"], etag


def test_actions_need_the_current_version_in_if_match(api: OpsApi) -> None:
    incident_id, etag = opened(api)

    missing = api.act(incident_id, "acknowledge", None)
    assert missing.status_code == 428
    assert missing.headers["content-type"] == PROBLEM
    assert api.act(incident_id, "acknowledge", '"999"').status_code == 412
    assert api.act(incident_id, "acknowledge", "*").status_code == 412

    done = api.act(incident_id, "acknowledge", etag, note="looking")
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "acknowledged"
    assert done.headers["etag"] == f'"{int(etag.strip(chr(34))) + 1}"'
    body, now_etag = api.incident(incident_id)
    assert now_etag == done.headers["etag"] == f'"{body["version"]}"'


def test_two_operators_cannot_overwrite_each_other(api: OpsApi) -> None:
    incident_id, etag = opened(api)

    first = api.act(incident_id, "assign", etag, assignee="alice")
    second = api.act(incident_id, "assign", etag, assignee="bob")

    assert first.status_code == 200
    assert second.status_code == 412
    assert second.json()["version"] == first.json()["version"]
    body, _ = api.incident(incident_id)
    assert body["assignee"] == "alice"


def test_the_lifecycle_is_recorded_in_the_timeline_with_the_operator(api: OpsApi) -> None:
    incident_id, etag = opened(api)
    for action, body in (("acknowledge", {}), ("assign", {"assignment_group": "Unix"}),
                         ("assign", {"assignee": "alice"}), ("comment", {"text": "rm logs"}),
                         ("resolve", {"note": "disk cleaned"}), ("close", {})):
        answer = api.act(incident_id, action, etag, **body)
        assert answer.status_code == 200, (action, answer.text)
        etag = answer.headers["etag"]

    incident, _ = api.incident(incident_id)
    assert (incident["state"], incident["assignee"], incident["assignment_group"]) == (
        "closed", "alice", "Unix")
    assert incident["acknowledged_at"] is not None
    assert incident["closed_at"] is not None
    by_operator = [(e["kind"], e["actor"]) for e in incident["timeline"]
                   if e["actor"] != "engine"]
    assert by_operator == [("acknowledged", "test operator"), ("assigned", "test operator"),
                           ("assigned", "test operator"), ("commented", "test operator"),
                           ("resolved", "test operator"), ("closed", "test operator")]
    comment = next(e for e in incident["timeline"] if e["kind"] == "commented")
    assert comment["detail"] == {"text": "rm logs"}
    resolved = next(e for e in incident["timeline"] if e["kind"] == "resolved")
    assert resolved["detail"]["reason"] == "disk cleaned"


def test_illegal_transitions_are_409_naming_the_state(api: OpsApi) -> None:
    incident_id, etag = opened(api)

    closing = api.act(incident_id, "close", etag)
    assert closing.status_code == 409
    assert closing.headers["content-type"] == PROBLEM
    assert closing.json()["state"] == "new"
    assert "new" in closing.json()["detail"]

    etag = api.act(incident_id, "resolve", etag).headers["etag"]
    acking = api.act(incident_id, "acknowledge", etag)
    assert acking.status_code == 409
    assert acking.json()["state"] == "resolved"
    assert api.act(incident_id, "assign", etag, assignee="x").status_code == 409

    etag = api.act(incident_id, "close", etag).headers["etag"]
    reopening = api.act(incident_id, "reopen", etag)
    assert reopening.status_code == 409
    assert "closed is final" in reopening.json()["detail"]


def test_acknowledge_and_resolve_are_notified_to_the_receivers(api: OpsApi) -> None:
    incident_id, etag = opened(api)
    etag = api.act(incident_id, "acknowledge", etag).headers["etag"]
    api.act(incident_id, "resolve", etag)

    incident, _ = api.incident(incident_id)
    assert [(n["receiver"], n["event"]) for n in incident["notifications"]] == [
        ("service-desk", "opened"), ("service-desk", "acknowledged"),
        ("service-desk", "resolved")]


def test_operator_resolve_holds_while_the_condition_still_fails(api: OpsApi,
                                                               clock: Clock) -> None:
    incident_id, etag = opened(api)
    api.act(incident_id, "resolve", etag)

    clock.advance(minutes=10)
    api.report(97.5)  # still full: no reopen, no new incident
    assert [(i["id"], i["state"]) for i in api.incidents()] == [(incident_id, "resolved")]

    clock.advance(hours=1)
    api.report(97.5)  # still failing after the reopen window: the fix did not hold
    states = {i["id"]: i["state"] for i in api.incidents()}
    assert states.pop(incident_id) == "resolved"
    assert list(states.values()) == ["new"]


def test_a_failure_after_the_condition_cleared_reopens_it(api: OpsApi, clock: Clock) -> None:
    incident_id, etag = opened(api)
    api.act(incident_id, "resolve", etag)

    clock.advance(minutes=5)
    api.report(50.0)
    clock.advance(minutes=5)
    api.report(97.5)

    [incident] = api.incidents()
    assert (incident["id"], incident["state"], incident["reopen_count"]) == (
        incident_id, "reopened", 1)


def test_operator_reopen_and_unknown_incidents(api: OpsApi) -> None:
    incident_id, etag = opened(api)
    etag = api.act(incident_id, "resolve", etag).headers["etag"]

    reopened = api.act(incident_id, "reopen", etag, note="user still sees it")
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["state"] == "reopened"
    assert reopened.json()["reopen_count"] == 1
    assert api.act("no-such-incident", "acknowledge", '"1"').status_code == 404
    assert api.act(incident_id, "assign", reopened.headers["etag"]).status_code == 422
    assert api.act(incident_id, "acknowledge", reopened.headers["etag"],
                   role="agent").status_code == 403


def test_detail_lists_children(api: OpsApi) -> None:
    incident_id, _ = opened(api)
    stored = api.store.get_incident(incident_id)
    assert stored is not None
    child: Incident = replace(stored, id="child-1", fingerprint="other|x|", parent_id=incident_id)
    api.store.write(lambda tx: tx.insert_incident(child))

    incident, _ = api.incident(incident_id)
    assert [(c["id"], c["state"]) for c in incident["children"]] == [("child-1", "new")]
