"""A ServiceNow instance as far as the Table API on `incident` and `cmdb_ci`, and
`/oauth_token.do`, go: Basic or bearer auth (401 otherwise), encoded queries of
`field=value` terms joined by `^`, 201 on insert, 200 on PATCH, 404 for an unknown
sys_id, and a strict data policy: an unknown assignment_group is refused with 400."""

from __future__ import annotations

import base64
import uuid
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

from tests.integration.notify.fake_http import FakeVendor, Reply, Request

USER, PASSWORD = "opsgraph", "snow-pass-1234"
CLIENT_ID, CLIENT_SECRET = "opsgraph-client", "snow-client-secret-5678"
GROUPS = {"d625dccec0a8016700a222a0f7900d06": "Service Desk"}
UNAUTHORIZED = {"error": {"message": "User Not Authenticated",
                          "detail": "Required to provide Auth information"}, "status": "failure"}
INACTIVE_STATES = {"7", "8"}  # Closed, Canceled: Resolved (6) is still active


class FakeServiceNow(FakeVendor):
    def __init__(self) -> None:
        super().__init__()
        self.incidents: dict[str, dict[str, Any]] = {}
        self.cis = {"cmdb-" + uuid.uuid4().hex[:27]: {"name": f"host-{n:02d}"} for n in range(5)}
        self.resolutions: Counter[str] = Counter()
        self.tokens: set[str] = set()
        self.drop_creates = 0

    def authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            return base64.b64decode(header[6:]).decode() == f"{USER}:{PASSWORD}"
        return header.startswith("Bearer ") and header[7:] in self.tokens

    def respond(self, request: Request) -> Reply:
        if request.path == "/oauth_token.do":
            return self._token(request)
        if not self.authorised(request):
            return Reply(401, UNAUTHORIZED)
        parts = request.path.split("/")
        if request.path == "/api/now/table/cmdb_ci" and request.method == "GET":
            return self._query(self.cis, request)
        if request.path == "/api/now/table/incident":
            if request.method == "GET":
                return self._query(self.incidents, request)
            if request.method == "POST":
                return self._insert(request)
        if (len(parts) == 6 and request.path.startswith("/api/now/table/incident/")
                and request.method == "PATCH"):
            return self._update(parts[5], request)
        return Reply(400, {"error": {"message": "Invalid request"}, "status": "failure"})

    def _token(self, request: Request) -> Reply:
        form = dict(parse_qsl(request.body.decode()))
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Reply(401, {"error_description": "access_denied", "error": "server_error"})
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return Reply(200, {"access_token": token, "refresh_token": uuid.uuid4().hex,
                           "scope": "useraccount", "token_type": "Bearer", "expires_in": 1799})

    def _query(self, table: dict[str, dict[str, Any]], request: Request) -> Reply:
        terms = [t.split("=", 1) for t in request.query.get("sysparm_query", "").split("^") if t]
        found = []
        for sys_id, record in table.items():
            row = {"sys_id": sys_id, **record,
                   "active": "false" if record.get("state") in INACTIVE_STATES else "true"}
            if all(str(row.get(k, "")) == v for k, v in terms):
                found.append(self._fields(row, request))
        limit = int(request.query.get("sysparm_limit", "10000"))
        return Reply(200, {"result": found[:limit]})

    def _insert(self, request: Request) -> Reply:
        body = request.json()
        group = body.get("assignment_group")
        if group is not None and group not in GROUPS:
            return Reply(400, {"error": {"message": "Data Policy Exception",
                                         "detail": f"Invalid assignment_group: {group}"},
                               "status": "failure"})
        if body.get("urgency") not in ("1", "2", "3") or body.get("impact") not in ("1", "2", "3"):
            return Reply(400, {"error": {"message": "Invalid urgency or impact"},
                               "status": "failure"})
        sys_id = uuid.uuid4().hex
        record = {**body, "state": "1", "number": f"INC{len(self.incidents) + 10001:07d}"}
        self.incidents[sys_id] = record
        if self.drop_creates > 0:
            self.drop_creates -= 1
            return Reply(201, drop=True)
        return Reply(201, {"result": self._fields({"sys_id": sys_id, **record}, request)})

    def _update(self, sys_id: str, request: Request) -> Reply:
        record = self.incidents.get(sys_id)
        if record is None:
            return Reply(404, {"error": {"message": "No Record found", "detail":
                               "Record doesn't exist or ACL restricts the record retrieval"},
                               "status": "failure"})
        body = request.json()
        if body.get("state") == "6":
            self.resolutions[sys_id] += 1
        record.update(body)
        return Reply(200, {"result": self._fields({"sys_id": sys_id, **record}, request)})

    @staticmethod
    def _fields(row: dict[str, Any], request: Request) -> dict[str, Any]:
        wanted = request.query.get("sysparm_fields")
        return {k: row.get(k, "") for k in wanted.split(",")} if wanted else row

    def by_correlation(self) -> Counter[str]:
        with self.lock:
            return Counter(r.get("correlation_id", "") for r in self.incidents.values())
