"""ServiceNow receiver: the Table API (`/api/now/table/{tableName}`) on the incident
table, with Basic auth, an OAuth token from `/oauth_token.do`, or a fixed bearer token.

- opened, reopened: look for an active incident whose `correlation_id` is our incident id
  (`GET ?sysparm_query=correlation_id=<id>^active=true&sysparm_limit=1`) first, since
  ServiceNow does not enforce uniqueness and the previous attempt may have created it
  without our hearing back; only if there is none, `POST` one (201) with
  short_description, description, urgency/impact "1"-"3", cmdb_ci, assignment_group
  and correlation_id. The returned sys_id and number are kept as the ticket ref. A
  reopened incident whose ticket is still active (ServiceNow keeps Resolved tickets
  active until they are Closed) is set back to In Progress (state 2) with a work
  note; one whose ticket was closed gets a new ticket.
- resolved: `PATCH /api/now/table/incident/{sys_id}` with state 6 (Resolved),
  close_code and close_notes. Nothing active to resolve is success.
- anything else: `PATCH` work_notes, urgency and impact.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from rules.notify.errors import PermanentDeliveryError
from rules.notify.model import IncidentSnapshot, Notification, Receipt, TicketRef
from rules.notify.receiver import Clock, utc_now
from rules.notify.redact import Redactor, Secret
from rules.notify.render import describe, links, priority_of, title
from rules.notify.settings import Fields, ReceiverSettings
from rules.notify.transport import ClientPool, call, json_object

RESOLVED_STATE = "6"
IN_PROGRESS_STATE = "2"
# ServiceNow's default priority matrix read backwards: priority -> (urgency, impact).
PRIORITY_MATRIX = {1: ("1", "1"), 2: ("1", "2"), 3: ("2", "2"), 4: ("2", "3"), 5: ("3", "3")}
LEVELS = ("1", "2", "3")
TOKEN_SLACK = timedelta(seconds=60)


@dataclass(frozen=True, kw_only=True)
class ServiceNowSettings(ReceiverSettings):
    instance_url: str
    auth: str = "basic"
    username: str | None = None
    password: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    token: Secret | None = None
    table: str = "incident"
    assignment_group: str | None = None
    caller_id: str | None = None
    category: str | None = None
    close_code: str = "Solution provided"
    ci_lookup: bool = True
    links: dict[str, str] = field(default_factory=dict)


def parse_settings(fields: Fields) -> ServiceNowSettings:
    auth = fields.choice("auth", ("basic", "oauth", "bearer"), "basic")
    credentials: dict[str, Any] = {}
    if auth == "basic":
        credentials = {"username": fields.text("username"), "password": fields.secret("password")}
    elif auth == "oauth":
        credentials = {"client_id": fields.text("client_id"),
                       "client_secret": fields.secret("client_secret"),
                       "username": fields.opt_text("username"),
                       "password": fields.opt_secret("password")}
        if (credentials["username"] is None) != (credentials["password"] is None):
            fields.fail("username", "oauth takes username and password_env together "
                                    "(password grant) or neither (client credentials)")
    else:
        credentials = {"token": fields.secret("token")}
    table = fields.text("table", "incident")
    if not table.replace("_", "").isalnum():
        fields.fail("table", "must be a table name such as incident")
    return ServiceNowSettings(
        **fields.common(), **credentials, instance_url=fields.url("instance_url"),
        auth=auth, table=table, assignment_group=fields.opt_text("assignment_group"),
        caller_id=fields.opt_text("caller_id"), category=fields.opt_text("category"),
        close_code=fields.text("close_code", "Solution provided"),
        ci_lookup=fields.boolean("ci_lookup", True), links=fields.mapping("links"))


def urgency_impact(incident: IncidentSnapshot) -> tuple[str, str]:
    """Urgency and impact "1"-"3": the payload's; an impact it lacks derived from its
    priority and urgency (priority = impact + urgency - 1 in the default ITIL matrix);
    otherwise both from the priority."""
    priority = priority_of(incident)
    urgency = incident.urgency if incident.urgency in LEVELS else None
    impact = incident.impact if incident.impact in LEVELS else None
    if urgency is not None and impact is None and incident.priority is not None:
        impact = str(min(3, max(1, priority - int(urgency) + 1)))
    if urgency is not None and impact is not None:
        return urgency, impact
    return PRIORITY_MATRIX[priority]


def _query_value(value: str) -> str:
    if "^" in value:  # the encoded-query separator: such a value cannot be matched safely
        raise PermanentDeliveryError(f"value {value!r} contains '^'")
    return value


class ServiceNowReceiver:
    def __init__(self, settings: ServiceNowSettings, clock: Clock = utc_now) -> None:
        self.name = settings.name
        self.max_in_flight = settings.max_in_flight
        self._settings, self._clock = settings, clock
        self._clients = ClientPool(settings.timeout)
        self._redact = Redactor(self.secrets())
        self._table_url = f"{settings.instance_url}/api/now/table/{settings.table}"
        self._token: tuple[str, datetime] | None = None
        self._token_lock = asyncio.Lock()
        self._ci_ids: dict[str, str | None] = {}

    def secrets(self) -> list[str]:
        s = self._settings
        return [x.reveal() for x in (s.password, s.client_secret, s.token) if x is not None]

    async def deliver(self, notification: Notification) -> Receipt:
        incident = notification.incident()
        if notification.event in ("opened", "reopened"):
            return await self._open(notification, incident)
        ref = notification.ticket or await self._find_active(incident)
        if ref is None:
            return Receipt()  # no ticket is active for it: nothing to resolve or update
        if notification.event == "resolved":
            body = {"state": RESOLVED_STATE, "close_code": self._settings.close_code,
                    "close_notes": f"Resolved by opsgraph at {incident.resolved_at}: "
                                   f"{incident.summary}"}
        else:
            body = self._update_body(notification, incident)
        return await self._patch(ref, body)

    async def _patch(self, ref: TicketRef, body: dict[str, str]) -> Receipt:
        response = await self._call("PATCH", f"{self._table_url}/{ref.external_id}", json=body,
                                    params={"sysparm_fields": "sys_id,number"})
        return Receipt(response.status_code, ref)

    def _update_body(self, notification: Notification, incident: IncidentSnapshot
                     ) -> dict[str, str]:
        urgency, impact = urgency_impact(incident)
        return {"work_notes": describe(incident, notification.event, self._links(incident)),
                "urgency": urgency, "impact": impact}

    async def _open(self, notification: Notification, incident: IncidentSnapshot) -> Receipt:
        reopened = notification.event == "reopened"
        if not reopened and notification.ticket is not None:
            return Receipt()  # created by an earlier attempt whose outcome was not recorded
        found = await self._find_active(incident)
        if found is not None and not reopened:
            return Receipt(None, found)  # the earlier attempt made it; we did not hear back
        if found is not None:
            return await self._patch(found, {**self._update_body(notification, incident),
                                             "state": IN_PROGRESS_STATE})
        response = await self._call(
            "POST", self._table_url, json=await self._create_body(notification, incident),
            params={"sysparm_fields": "sys_id,number", "sysparm_exclude_reference_link": "true"})
        ref = self._ref(incident, json_object(response).get("result"))
        if ref is None:
            raise PermanentDeliveryError(f"HTTP {response.status_code} without a sys_id",
                                         response.status_code, self._redact.body(response.text))
        return Receipt(response.status_code, ref)

    async def _find_active(self, incident: IncidentSnapshot) -> TicketRef | None:
        query = f"correlation_id={_query_value(incident.id)}^active=true"
        response = await self._call("GET", self._table_url, params={
            "sysparm_query": query, "sysparm_limit": "1", "sysparm_fields": "sys_id,number"})
        found = json_object(response).get("result")
        return self._ref(incident, found[0]) if isinstance(found, list) and found else None

    def _ref(self, incident: IncidentSnapshot, record: object) -> TicketRef | None:
        if not isinstance(record, dict) or not record.get("sys_id"):
            return None
        number = record.get("number")
        return TicketRef(incident.id, self.name, str(record["sys_id"]),
                         str(number) if number else None)

    async def _create_body(self, notification: Notification, incident: IncidentSnapshot
                           ) -> dict[str, str]:
        s = self._settings
        urgency, impact = urgency_impact(incident)
        body = {
            "short_description": title(incident, 160),
            "description": describe(incident, notification.event, self._links(incident)),
            "urgency": urgency, "impact": impact, "correlation_id": incident.id,
            "correlation_display": "opsgraph",
            "assignment_group": incident.assignment_group or s.assignment_group,
            "cmdb_ci": await self._ci_sys_id(incident.ci.name) if s.ci_lookup else None,
            "caller_id": s.caller_id, "category": s.category,
        }
        return {k: v for k, v in body.items() if v}

    def _links(self, incident: IncidentSnapshot) -> dict[str, str]:
        return links(self._settings.links, incident)

    async def _ci_sys_id(self, name: str) -> str | None:
        """The sys_id of the cmdb_ci record named like our CI (cached), if any."""
        if not name or "^" in name:
            return None
        if name not in self._ci_ids:
            response = await self._call(
                "GET", f"{self._settings.instance_url}/api/now/table/cmdb_ci",
                params={"sysparm_query": f"name={name}", "sysparm_limit": "1",
                        "sysparm_fields": "sys_id"})
            found = json_object(response).get("result")
            sys_id = found[0].get("sys_id") if isinstance(found, list) and found else None
            self._ci_ids[name] = str(sys_id) if sys_id else None
        return self._ci_ids[name]

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"accept": "application/json", "authorization": await self._authorization()}
        try:
            return await call(self._clients, method, url, headers=headers, redact=self._redact,
                              clock=self._clock, **kwargs)
        except PermanentDeliveryError as exc:
            if exc.status != 401 or self._settings.auth != "oauth":
                raise
        if self._token is not None and headers["authorization"] == f"Bearer {self._token[0]}":
            self._token = None  # refused (expired, revoked): the first to see it refetches
        headers["authorization"] = await self._authorization()
        return await call(self._clients, method, url, headers=headers, redact=self._redact,
                          clock=self._clock, **kwargs)

    async def _authorization(self) -> str:
        s = self._settings
        if s.auth == "basic" and s.password is not None:
            pair = f"{s.username}:{s.password.reveal()}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        if s.auth == "bearer" and s.token is not None:
            return f"Bearer {s.token.reveal()}"
        async with self._token_lock:  # one token fetch, not one per delivery in flight
            if self._token is None or self._token[1] <= self._clock():
                self._token = await self._fetch_token()
            return f"Bearer {self._token[0]}"

    async def _fetch_token(self) -> tuple[str, datetime]:
        s = self._settings
        assert s.client_id is not None
        assert s.client_secret is not None
        form = {"client_id": s.client_id, "client_secret": s.client_secret.reveal(),
                "grant_type": "client_credentials"}
        if s.username and s.password is not None:
            form.update(grant_type="password", username=s.username, password=s.password.reveal())
        response = await call(self._clients, "POST", f"{s.instance_url}/oauth_token.do",
                              data=form, redact=self._redact, clock=self._clock)
        answer = json_object(response)
        token, lifetime = answer.get("access_token"), answer.get("expires_in", 1800)
        if not isinstance(token, str) or not token:
            raise PermanentDeliveryError("oauth_token.do answered without an access_token")
        self._redact = self._redact.with_secrets([token])
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 1800.0
        return token, self._clock() + timedelta(seconds=seconds) - TOKEN_SLACK

    async def aclose(self) -> None:
        await self._clients.aclose()
