"""Email through a local aiosmtpd server with STARTTLS and AUTH: a readable message
arrives; a refused recipient is a dead letter; a 4xx reply is retried."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from cmdb.store import GraphStore
from rules.notify.dispatcher import Dispatcher
from rules.notify.mail import EmailReceiver, EmailSettings
from rules.notify.redact import Secret
from rules.notify.state import DeliveryStore
from tests.conftest import Clock, require_service
from tests.integration.notify.outbox import enqueue, entry, incident, resolved

USER, PASSWORD = "opsgraph", "smtp-secret-9876"


def self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Mailbox:
    """The aiosmtpd handler: keeps messages, refuses `nobody@`, can defer DATA."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.defer = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 <nobody@example.com>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.defer > 0:
            self.defer -= 1
            return "451 4.3.0 Please try again later"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    try:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword
    except ImportError as exc:
        require_service("aiosmtpd", ".venv/bin/pip install aiosmtpd", exc)
        raise
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(), PASSWORD.encode())
        return AuthResult(success=ok)

    mailbox = Mailbox()
    with socket.socket() as probe:  # aiosmtpd's readiness check needs a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=authenticate,
                            auth_required=True)
    controller.start()
    try:
        yield mailbox, port, cert
    finally:
        controller.stop()


def deliver(smtp: tuple[Mailbox, int, Path], delivery: DeliveryStore, clock: Clock,
            to: tuple[str, ...] = ("desk@example.com",), rounds: int = 4) -> Dispatcher:
    _, port, cert = smtp
    receiver = EmailReceiver(EmailSettings(
        name="mail", host="127.0.0.1", port=port, security="starttls", username=USER,
        password=Secret(PASSWORD), ca_file=str(cert), sender="opsgraph@example.com",
        recipients=to, timeout=5.0))
    worker = Dispatcher(delivery, {"mail": receiver}, owner="d1", clock=clock)

    async def scenario() -> None:
        for _ in range(rounds):
            await worker.run_once()
            clock.advance(minutes=5)

    asyncio.run(scenario())
    return worker


def test_open_and_resolve_arrive_as_readable_threaded_mail(
        smtp: tuple[Mailbox, int, Path], sqlite_store: GraphStore,
        sqlite_delivery: DeliveryStore, clock: Clock) -> None:
    item = incident(1)
    opened = entry(item, "opened", "mail")
    enqueue(sqlite_store, [opened, entry(resolved(item), "resolved", "mail")])

    deliver(smtp, sqlite_delivery, clock)

    first, second = smtp[0].messages
    assert first["Subject"] == f"[opsgraph] OPENED [major] {item.summary}"
    assert first["Message-ID"] == f"<{opened.id}@opsgraph>"
    assert first["References"] == second["References"] == f"<incident-{item.id}@opsgraph>"
    assert first["To"] == "desk@example.com"
    payload = first.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert f"Incident:    {item.id}" in text
    assert f"CI:          {item.ci_name}" in text
    assert second["Subject"].startswith("[opsgraph] RESOLVED")


def test_a_refused_recipient_is_a_dead_letter(
        smtp: tuple[Mailbox, int, Path], sqlite_store: GraphStore,
        sqlite_delivery: DeliveryStore, clock: Clock) -> None:
    enqueue(sqlite_store, [entry(incident(1), "opened", "mail")])

    worker = deliver(smtp, sqlite_delivery, clock, to=("nobody@example.com",))

    [dead] = sqlite_delivery.dead_letters().items
    assert dead.status == 550
    assert "Recipient address rejected" in dead.error
    assert PASSWORD not in dead.error
    assert worker.stats.retried == 0


def test_a_4xx_reply_is_retried(smtp: tuple[Mailbox, int, Path], sqlite_store: GraphStore,
                                sqlite_delivery: DeliveryStore, clock: Clock) -> None:
    enqueue(sqlite_store, [entry(incident(1), "opened", "mail")])
    smtp[0].defer = 1

    worker = deliver(smtp, sqlite_delivery, clock)

    assert len(smtp[0].messages) == 1
    assert worker.stats.retried == 1
    assert worker.stats.delivered == 1
