"""A vendor API double on 127.0.0.1: a small asyncio HTTP/1.1 server (keep-alive) in
a thread of its own, recording every request, with the failure modes the dispatcher must
survive switchable from the test: an outage (503), throttling (429 + Retry-After),
and dropping the connection after the work was done (a lost response)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    """Do the work, then close the connection without answering (a lost response)."""


class FakeVendor:
    """Subclasses implement `respond`; `url` is where the double listens."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.lock = threading.RLock()
        self.down = False
        self.down_retry_after: str | None = None
        self.throttle = 0
        self.throttle_retry_after = "1"
        self.delay = 0.0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host!s}:{port}"

    def respond(self, request: Request) -> Reply:
        raise NotImplementedError

    def handle(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            if self.down:
                headers = {"Retry-After": self.down_retry_after} if self.down_retry_after else {}
                return Reply(503, {"error": "service unavailable"}, headers)
            if self.throttle > 0:
                self.throttle -= 1
                return Reply(429, {"error": "too many requests"},
                             {"Retry-After": self.throttle_retry_after})
            return self.respond(request)

    def count(self, method: str, path_prefix: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests
                       if r.method == method and r.path.startswith(path_prefix))

    @contextmanager
    def running(self) -> Iterator[FakeVendor]:
        """Serve on 127.0.0.1 (a free port) from a thread of its own until exit."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._connection, "127.0.0.1", 0)

        def serve() -> None:
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(start())
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        ready.wait(10)
        try:
            yield self
        finally:
            async def stop() -> None:
                assert self._server is not None
                self._server.close()
                for writer in list(self._writers):
                    writer.close()
                await self._server.wait_closed()

            asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        """HTTP/1.1 with keep-alive, enough of it for the clients under test."""
        self._writers.add(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                if self.delay:
                    await asyncio.sleep(self.delay)
                reply = self.handle(request)
                if reply.drop:
                    break
                writer.write(_encode(reply))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length") or 0))
    parts = urlsplit(target)
    return Request(method, parts.path, dict(parse_qsl(parts.query)), headers, body)


def _encode(reply: Reply) -> bytes:
    payload = b"" if reply.body is None else (
        reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode())
    reason = HTTPStatus(reply.status).phrase
    headers = {**reply.headers, "Content-Length": str(len(payload))}
    if payload:
        headers["Content-Type"] = "application/json"
    head = f"HTTP/1.1 {reply.status} {reason}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + payload
