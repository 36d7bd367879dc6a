"""HTTP(S) POST to the collector with the standard library, reusing one connection."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from agent.errors import ConfigError, TransportError

# Answers are small JSON documents (a 500-report batch's `results` is about 60 KiB);
# read no more than this.
MAX_ANSWER_BYTES = 256 * 1024
# What a reused keep-alive connection fails with when the server already closed it.
_STALE_CONNECTION = (
    http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
    ConnectionAbortedError,
)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """The collector's answer: status, raw `Retry-After` header and (capped) body."""

    status: int
    retry_after: str | None = None
    body: bytes = b""


class Transport(Protocol):
    """Posts one body; raises `TransportError` when there is no HTTP answer at all."""

    def post(self, body: bytes, headers: Mapping[str, str]) -> HttpAnswer: ...

    def close(self) -> None: ...


def tls_context(ca_file: Path | None, verify: bool) -> ssl.SSLContext:
    """Verified TLS by default; `ca_file` adds a private CA; `verify=False` is for labs only."""
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("ca_file", f"cannot load {ca_file}: {exc}") from exc
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class HttpTransport:
    """One keep-alive connection to the collector, reopened after any error."""

    def __init__(
        self,
        url: str,
        timeout_seconds: float,
        ca_file: Path | None = None,
        verify_tls: bool = True,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("server_url", f"expected an http(s) URL, got {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout_seconds
        self._context = tls_context(ca_file, verify_tls) if self._https else None
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> tuple[http.client.HTTPConnection, bool]:
        """The open connection, or a new one; the flag says whether it is being reused."""
        if self._connection is not None:
            return self._connection, True
        if self._https:
            self._connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._context
            )
        else:
            self._connection = http.client.HTTPConnection(
                self._host, self._port, timeout=self._timeout
            )
        return self._connection, False

    def post(self, body: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        connection, reused = self._connect()
        try:
            return self._exchange(connection, body, headers)
        except _STALE_CONNECTION as exc:
            self.close()
            if not reused:
                raise TransportError(describe_failure(exc)) from exc
        # The server had closed the idle keep-alive connection (uvicorn does after 5 s):
        # one more try on a fresh one is safe, the collector is idempotent by report_id.
        connection, _ = self._connect()
        try:
            return self._exchange(connection, body, headers)
        except _STALE_CONNECTION as exc:
            self.close()
            raise TransportError(describe_failure(exc)) from exc

    def _exchange(
        self, connection: http.client.HTTPConnection, body: bytes, headers: Mapping[str, str]
    ) -> HttpAnswer:
        try:
            connection.request("POST", self._path, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read(MAX_ANSWER_BYTES)
        except _STALE_CONNECTION:
            raise  # the caller decides whether a fresh connection is worth one more try
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError(describe_failure(exc)) from exc
        if response.will_close or not response.isclosed():
            self.close()  # the server's choice, or an unread rest: do not reuse
        return HttpAnswer(response.status, response.getheader("Retry-After"), data)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def describe_failure(exc: BaseException) -> str:
    """A one-line reason for a failed exchange."""
    if isinstance(exc, TimeoutError):
        return "timed out waiting for the collector"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message}"
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError):
        return "connection closed before the collector answered"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"{type(exc).__name__}: {exc}"
