"""A Jira project behind REST API v2 and v3: create issue (v2 plain-text or v3 ADF
descriptions, checked), enhanced JQL search on labels (eventually consistent when
`search_lag` is set), issue status, transitions (To Do -> Done) and comments."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from tests.integration.notify.fake_http import FakeVendor, Reply, Request

EMAIL, TOKEN = "bot@example.com", "jira-api-token-abcd"
PRIORITIES = {"Highest", "High", "Medium", "Low", "Lowest"}
DONE = {"name": "Done", "statusCategory": {"key": "done"}}
TODO = {"name": "To Do", "statusCategory": {"key": "new"}}
_LABEL = re.compile(r'labels = "([^"]+)"')


class FakeJira(FakeVendor):
    def __init__(self, project: str = "OPS") -> None:
        super().__init__()
        self.project = project
        self.issues: dict[str, dict[str, Any]] = {}
        self.search_lag = 0.0
        self.drop_creates = 0
        self.transitions_done: list[str] = []

    def respond(self, request: Request) -> Reply:
        header = request.headers.get("authorization", "")
        if header != "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode():
            return Reply(401, {"errorMessages": ["You are not authenticated."]})
        match = re.fullmatch(r"/rest/api/([23])/(.*)", request.path)
        if match is None:
            return Reply(404, {"errorMessages": ["Not found"]})
        version, rest = int(match.group(1)), match.group(2)
        parts = rest.split("/")
        if rest == "issue" and request.method == "POST":
            return self._create(version, request)
        if rest == "search/jql" and request.method == "GET":
            return self._search(request)
        issue = self.issues.get(parts[1]) if len(parts) > 1 and parts[0] == "issue" else None
        if issue is None:
            return Reply(404, {"errorMessages": ["Issue does not exist"], "errors": {}})
        if len(parts) == 2 and request.method == "GET":
            return Reply(200, {"id": issue["id"], "key": issue["key"],
                               "fields": {"status": issue["status"]}})
        if parts[2:] == ["transitions"]:
            return self._transition(issue, request)
        if parts[2:] == ["comment"] and request.method == "POST":
            issue["comments"].append(request.json()["body"])
            return Reply(201, {"id": str(len(issue["comments"]))})
        return Reply(405, {"errorMessages": ["Method not allowed"]})

    def _create(self, version: int, request: Request) -> Reply:
        fields = request.json().get("fields", {})
        errors: dict[str, str] = {}
        if fields.get("project", {}).get("key") != self.project:
            errors["project"] = "valid project is required"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        description = fields.get("description")
        is_adf = isinstance(description, dict) and description.get("type") == "doc"
        if version == 3 and not is_adf:
            errors["description"] = "Operation value must be an Atlassian Document"
        if version == 2 and not isinstance(description, str):
            errors["description"] = "Operation value must be a string"
        if fields.get("priority", {}).get("name", "Medium") not in PRIORITIES:
            errors["priority"] = "Specify the Priority (name) in the string format"
        if any(" " in label for label in fields.get("labels", [])):
            errors["labels"] = "Label cannot contain spaces"
        if errors:
            return Reply(400, {"errorMessages": [], "errors": errors})
        number = len(self.issues) + 1
        issue = {"id": str(10000 + number), "key": f"{self.project}-{number}", "status": TODO,
                 "fields": fields, "comments": [], "created": time.monotonic()}
        self.issues[issue["key"]] = issue
        self.issues[issue["id"]] = issue
        if self.drop_creates > 0:
            self.drop_creates -= 1
            return Reply(201, drop=True)
        return Reply(201, {"id": issue["id"], "key": issue["key"],
                           "self": f"{self.url}/rest/api/2/issue/{issue['id']}"})

    def _search(self, request: Request) -> Reply:
        label = _LABEL.search(request.query.get("jql", ""))
        visible_before = time.monotonic() - self.search_lag
        found = [{"id": i["id"], "key": i["key"]} for i in self.unique()
                 if label and label.group(1) in i["fields"].get("labels", [])
                 and i["created"] <= visible_before]
        return Reply(200, {"issues": found[: int(request.query.get("maxResults", "50"))],
                           "isLast": True})

    def _transition(self, issue: dict[str, Any], request: Request) -> Reply:
        available = ([{"id": "11", "name": "Reopen", "to": TODO}] if issue["status"] is DONE
                     else [{"id": "21", "name": "Start", "to": {"name": "In Progress",
                            "statusCategory": {"key": "indeterminate"}}},
                           {"id": "31", "name": "Done", "to": DONE}])
        if request.method == "GET":
            return Reply(200, {"transitions": available})
        chosen = request.json().get("transition", {}).get("id")
        target = next((t["to"] for t in available if t["id"] == chosen), None)
        if target is None:
            return Reply(400, {"errorMessages": ["Transition id is not valid"], "errors": {}})
        issue["status"] = target
        if target is DONE:
            self.transitions_done.append(issue["key"])
        return Reply(204)

    def unique(self) -> list[dict[str, Any]]:
        with self.lock:
            return [i for k, i in self.issues.items() if k == i["key"]]
