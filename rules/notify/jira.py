"""Jira receiver: REST API v2 (`/rest/api/2`, plain-text descriptions) or v3
(`/rest/api/3`, Atlassian Document Format), Basic (email + API token) or bearer
(personal access token) auth.

- opened: `POST /issue` (201 `{id, key}`) with project, issue type, summary,
  description, priority and labels, one of them `opsgraph-<incident id>`. The key is
  stored as the ticket ref in the transaction that records the delivery, never
  after it. Jira has no idempotency
  key, so a retry whose previous attempt may have created the issue first searches
  for that label (`/search/jql` on Cloud, `/search` on Data Center). Jira's search is
  eventually consistent: an issue created a moment earlier may not be found yet, so
  after a lost response a duplicate remains possible; this is best effort.
- resolved: unless the issue is already in a done status, `GET /issue/{key}/
  transitions` and `POST` the one named `resolve_transition` (or, failing that, the
  first leading to a done status); 204.
- reopened: the same towards `reopen_transition` (or any status not done) when the
  issue is done, then a comment; an incident without an issue gets a new one.
- anything else (priority_changed, escalated, reminder): `POST /issue/{key}/comment`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx

from rules.notify.errors import PermanentDeliveryError
from rules.notify.model import IncidentSnapshot, Notification, Receipt, TicketRef
from rules.notify.receiver import Clock, utc_now
from rules.notify.redact import Redactor, Secret
from rules.notify.render import describe, links, priority_of, title
from rules.notify.settings import Fields, ReceiverSettings
from rules.notify.transport import ClientPool, call, json_object

PRIORITIES = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}
SUMMARY_LIMIT = 255


@dataclass(frozen=True, kw_only=True)
class JiraSettings(ReceiverSettings):
    base_url: str
    project_key: str
    issue_type: str
    token: Secret
    auth: str = "basic"
    username: str | None = None
    api_version: int = 2
    deployment: str = "cloud"
    priorities: dict[str, str] = field(default_factory=lambda: dict(PRIORITIES))
    set_priority: bool = True
    labels: tuple[str, ...] = ()
    resolve_transition: str = "Done"
    reopen_transition: str = "Reopen"
    links: dict[str, str] = field(default_factory=dict)


def parse_settings(fields: Fields) -> JiraSettings:
    auth = fields.choice("auth", ("basic", "bearer"), "basic")
    labels = fields.text_list("labels", ())
    if any(" " in label for label in labels):
        fields.fail("labels", "Jira labels cannot contain spaces")
    return JiraSettings(
        **fields.common(), base_url=fields.url("base_url"),
        project_key=fields.text("project_key"), issue_type=fields.text("issue_type"),
        token=fields.secret("token"), auth=auth,
        username=fields.text("username") if auth == "basic" else None,
        api_version=fields.integer("api_version", 2, 2, 3),
        deployment=fields.choice("deployment", ("cloud", "datacenter"), "cloud"),
        priorities={**PRIORITIES, **fields.mapping("priorities")},
        set_priority=fields.boolean("set_priority", True), labels=labels,
        resolve_transition=fields.text("resolve_transition", "Done"),
        reopen_transition=fields.text("reopen_transition", "Reopen"),
        links=fields.mapping("links"))


def incident_label(incident_id: str) -> str:
    return f"opsgraph-{incident_id}"


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document Format document, a paragraph per line."""
    paragraphs: list[dict[str, Any]] = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        for line in text.splitlines() if line.strip()]
    return {"type": "doc", "version": 1, "content": paragraphs}


def issue_fields(settings: JiraSettings, notification: Notification,
                 incident: IncidentSnapshot) -> dict[str, Any]:
    """The `fields` of the create-issue request."""
    text = describe(incident, notification.event, links(settings.links, incident))
    fields: dict[str, Any] = {
        "project": {"key": settings.project_key},
        "issuetype": {"name": settings.issue_type},
        "summary": title(incident, SUMMARY_LIMIT).replace("\n", " "),
        "description": adf(text) if settings.api_version == 3 else text,
        "labels": ["opsgraph", incident_label(incident.id), *settings.labels],
    }
    priority = settings.priorities.get(str(priority_of(incident)))
    if settings.set_priority and priority:
        fields["priority"] = {"name": priority}
    return fields


class JiraReceiver:
    def __init__(self, settings: JiraSettings, clock: Clock = utc_now) -> None:
        self.name = settings.name
        self.max_in_flight = settings.max_in_flight
        self._settings, self._clock = settings, clock
        self._clients = ClientPool(settings.timeout)
        self._redact = Redactor(self.secrets())
        self._api = f"{settings.base_url}/rest/api/{settings.api_version}"

    def secrets(self) -> list[str]:
        return [self._settings.token.reveal()]

    async def deliver(self, notification: Notification) -> Receipt:
        incident = notification.incident()
        if notification.event == "opened":
            return await self._create(notification, incident)
        ref = notification.ticket or await self._search(incident)
        if ref is None and notification.event == "reopened":
            return await self._create(notification, incident)
        if ref is None:
            return Receipt()  # no issue was ever made for it: nothing to resolve or comment on
        key = ref.external_key or ref.external_id
        if notification.event == "resolved":
            return Receipt(await self._move(key, done=True), ref)
        if notification.event == "reopened":
            await self._move(key, done=False)
        text = describe(incident, notification.event, links(self._settings.links, incident))
        body = adf(text) if self._settings.api_version == 3 else text
        response = await self._call("POST", f"{self._api}/issue/{key}/comment",
                                    json={"body": body})
        return Receipt(response.status_code, ref)

    async def _create(self, notification: Notification, incident: IncidentSnapshot
                      ) -> Receipt:
        if notification.attempt > 1:  # only a retry can follow a create we did not hear of
            if notification.ticket is not None and notification.event == "opened":
                return Receipt()
            found = await self._search(incident)
            if found is not None and found != notification.ticket:
                return Receipt(None, found)
        response = await self._call("POST", f"{self._api}/issue", json={
            "fields": issue_fields(self._settings, notification, incident)})
        created = json_object(response)
        if not created.get("id") and not created.get("key"):
            raise PermanentDeliveryError(f"HTTP {response.status_code} without an issue key",
                                         response.status_code, self._redact.body(response.text))
        issue_id = str(created.get("id") or created["key"])
        return Receipt(response.status_code, TicketRef(incident.id, self.name, issue_id,
                                                       str(created.get("key") or issue_id)))

    async def _search(self, incident: IncidentSnapshot) -> TicketRef | None:
        path = "search/jql" if self._settings.deployment == "cloud" else "search"
        label = incident_label(incident.id)
        jql = f'project = "{self._settings.project_key}" AND labels = "{label}"'
        response = await self._call("GET", f"{self._api}/{path}", params={
            "jql": jql, "maxResults": "1", "fields": "summary"})
        issues = json_object(response).get("issues")
        if not isinstance(issues, list) or not issues or not isinstance(issues[0], dict):
            return None
        issue = issues[0]
        issue_id = str(issue.get("id") or issue.get("key"))
        return TicketRef(incident.id, self.name, issue_id, str(issue.get("key") or issue_id))

    async def _move(self, key: str, done: bool) -> int | None:
        """Transition the issue into (`done`) or out of a done status, if not there."""
        response = await self._call("GET", f"{self._api}/issue/{key}",
                                    params={"fields": "status"})
        status = json_object(response).get("fields", {}).get("status", {})
        if (_category(status) == "done") == done:
            return None  # there already: by an attempt we did not hear of, or by hand
        response = await self._call("GET", f"{self._api}/issue/{key}/transitions")
        transitions = json_object(response).get("transitions") or []
        name = self._settings.resolve_transition if done else self._settings.reopen_transition
        chosen = _pick_transition(transitions, name, done)
        if chosen is None:
            raise PermanentDeliveryError(
                f"issue {key} offers no transition named {name!r} nor any "
                f"{'to' if done else 'out of'} a done status")
        response = await self._call("POST", f"{self._api}/issue/{key}/transitions",
                                    json={"transition": {"id": chosen}})
        return response.status_code

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        s = self._settings
        if s.auth == "basic":
            pair = f"{s.username}:{s.token.reveal()}".encode()
            authorization = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            authorization = f"Bearer {s.token.reveal()}"
        headers = {"accept": "application/json", "authorization": authorization}
        return await call(self._clients, method, url, headers=headers, redact=self._redact,
                          clock=self._clock, **kwargs)

    async def aclose(self) -> None:
        await self._clients.aclose()


def _category(status: object) -> str | None:
    if not isinstance(status, dict):
        return None
    category = status.get("statusCategory")
    return str(category.get("key")) if isinstance(category, dict) else None


def _pick_transition(transitions: list[Any], name: str, done: bool) -> str | None:
    candidates = [t for t in transitions if isinstance(t, dict) and t.get("id")]
    for t in candidates:
        target = t["to"] if isinstance(t.get("to"), dict) else {}
        if name.lower() in (str(t.get("name", "")).lower(), str(target.get("name", "")).lower()):
            return str(t["id"])
    for t in candidates:
        if (_category(t.get("to")) == "done") == done:
            return str(t["id"])
    return None
