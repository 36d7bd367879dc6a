"""A tiny collector on 127.0.0.1 for the agent's HTTP tests (http.server in a thread)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Received:
    """One request as the fake collector saw it."""

    path: str
    headers: dict[str, str]
    report: dict[str, Any]
    batched: bool = False


@dataclass
class LocalCollector:
    """A tiny `POST /v1/reports` collector on 127.0.0.1, idempotent by report_id; it
    takes one report or a batch `{"reports": [...]}`, unless `takes_batches` is false
    (an older collector, which answers a batch 422 for its missing report fields).

    `drop_first` answers nothing (closes the connection) when a request carries a
    report id it has not seen, after storing it: the agent cannot know it was stored
    and must re-send.
    `script` holds statuses to answer before behaving normally. `close_idle` closes
    every connection right after answering without saying so, as a server whose
    keep-alive timeout expired between two reports.
    """

    token: str = "tok-123"
    drop_first: bool = False
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    tls: tuple[Path, Path] | None = None  # (certificate, key) to serve HTTPS
    close_idle: bool = False
    takes_batches: bool = True
    requests: list[list[str]] = field(default_factory=list)  # report ids, per request
    url: str = ""

    def __enter__(self) -> LocalCollector:
        import threading
        from http.server import ThreadingHTTPServer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        if self.tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.url = f"https://localhost:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any] | None:
        if path != "/v1/reports":
            return 404, {"title": "Not Found"}
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"title": "Unauthorized"}
        body = json.loads(gzip.decompress(raw) if headers.get("Content-Encoding") == "gzip"
                          else raw)
        batched = "reports" in body
        if batched and not self.takes_batches:
            return 422, {"title": "Invalid request", "errors": [
                {"loc": "report_id", "msg": "Field required"},
                {"loc": "agent_id", "msg": "Field required"}]}
        reports = body["reports"] if batched else [body]
        self.requests.append([report["report_id"] for report in reports])
        self.received += [Received(path, headers, report, batched) for report in reports]
        if self.script:
            return self.script.pop(0), {"title": "scripted"}
        results = []
        for report in reports:
            results.append({"report_id": report["report_id"], "ci_id": "ci-1",
                            "duplicate": report["report_id"] in self.stored})
            self.stored.setdefault(report["report_id"], report)
        if self.drop_first and not all(result["duplicate"] for result in results):
            return None
        return 202, {"results": results} if batched else results[0]


def _handler_for(collector: LocalCollector) -> type:
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = collector.answer(self.path, dict(self.headers.items()), raw)
            if answer is None:
                self.close_connection = True  # stored, but the client never hears back
                return
            status, payload = answer
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = collector.close_idle

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
