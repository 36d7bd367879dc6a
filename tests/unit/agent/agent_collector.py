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


@dataclass
class LocalCollector:
    """A tiny `POST /v1/reports` collector on 127.0.0.1, idempotent by report_id.

    `drop_first` answers nothing (closes the connection) the first time it sees a
    report id, after storing it: the agent cannot know it was stored and must re-send.
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
        body = gzip.decompress(raw) if headers.get("Content-Encoding") == "gzip" else raw
        report = json.loads(body)
        self.received.append(Received(path, headers, report))
        if self.script:
            return self.script.pop(0), {"title": "scripted"}
        report_id = report["report_id"]
        duplicate = report_id in self.stored
        self.stored.setdefault(report_id, report)
        if self.drop_first and not duplicate:
            return None
        return 202, {"report_id": report_id, "ci_id": "ci-1", "duplicate": duplicate}


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
