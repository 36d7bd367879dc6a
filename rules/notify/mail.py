"""Email receiver: SMTP (stdlib `smtplib`, run in a worker thread) with STARTTLS,
implicit TLS or neither, and optional AUTH, sending a readable plain-text message.

Every attempt at one notification carries the same `Message-ID`
(`<outbox id@opsgraph>`) and all messages of one incident share a `References`
header, so mail clients thread an incident's open and resolve together. SMTP 4xx
replies, dropped connections and timeouts are retried; 5xx replies (bad recipient,
authentication refused) and TLS certificate failures are dead letters.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime

from rules.notify.errors import PermanentDeliveryError, TransientDeliveryError
from rules.notify.model import Notification, Receipt
from rules.notify.redact import Redactor, Secret
from rules.notify.render import describe, links, title
from rules.notify.settings import Fields, ReceiverSettings

SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True, kw_only=True)
class EmailSettings(ReceiverSettings):
    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: Secret | None = None
    ca_file: str | None = None
    subject_prefix: str = "[opsgraph]"
    links: dict[str, str] = field(default_factory=dict)


def parse_settings(fields: Fields) -> EmailSettings:
    security = fields.choice("security", SECURITY, "starttls")
    username = fields.opt_text("username")
    password = fields.opt_secret("password")
    if (username is None) != (password is None):
        fields.fail("username", "username and password_env go together (AUTH) or not at all")
    recipients = fields.text_list("to")
    if not all("@" in r for r in recipients):
        fields.fail("to", "must be email addresses")
    sender = fields.text("from")
    if "@" not in sender:
        fields.fail("from", "must be an email address")
    return EmailSettings(
        **fields.common(), host=fields.text("host"), sender=sender, recipients=recipients,
        port=fields.integer("port", DEFAULT_PORTS[security], 1, 65535), security=security,
        username=username, password=password, ca_file=fields.opt_text("ca_file"),
        subject_prefix=fields.text("subject_prefix", "[opsgraph]"),
        links=fields.mapping("links"))


def compose(settings: EmailSettings, notification: Notification) -> EmailMessage:
    """The message for one notification; the same bytes on every attempt."""
    incident = notification.incident()
    message = EmailMessage()
    event = notification.event.upper()
    message["Subject"] = (f"{settings.subject_prefix} {event} [{incident.severity}] "
                          f"{title(incident, 200)}")
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = format_datetime(notification.created_at)
    message["Message-ID"] = f"<{notification.outbox_id}@opsgraph>"
    message["References"] = f"<incident-{incident.id}@opsgraph>"
    message["X-Opsgraph-Incident"] = incident.id
    message["X-Opsgraph-Event"] = notification.event
    message.set_content(describe(incident, notification.event,
                                 links(settings.links, incident)))
    return message


class EmailReceiver:
    def __init__(self, settings: EmailSettings) -> None:
        self.name = settings.name
        self.max_in_flight = settings.max_in_flight
        self._settings = settings
        self._redact = Redactor(self.secrets())

    def secrets(self) -> list[str]:
        return [self._settings.password.reveal()] if self._settings.password else []

    async def deliver(self, notification: Notification) -> Receipt:
        message = compose(self._settings, notification)
        return Receipt(await asyncio.to_thread(self._send, message))

    def _send(self, message: EmailMessage) -> int:
        try:
            return self._transfer(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _by_code(min(codes), "recipients refused: " + self._redact(
                "; ".join(f"{a}: {c} {m!r}" for a, (c, m) in exc.recipients.items()))) from None
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            raise _by_code(exc.smtp_code, f"SMTP {exc.smtp_code} {self._redact(reply)}"
                           ) from None
        except ssl.SSLCertVerificationError as exc:
            raise PermanentDeliveryError(f"TLS certificate not trusted: {exc.verify_message}"
                                         ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentDeliveryError(f"SMTP server lacks a feature: {exc}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientDeliveryError(
                f"SMTP connection failed ({type(exc).__name__}: {self._redact(str(exc))})"
            ) from None

    def _transfer(self, message: EmailMessage) -> int:
        s = self._settings
        context = ssl.create_default_context(cafile=s.ca_file)
        smtp: smtplib.SMTP
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        with smtp:
            if s.security == "starttls":
                smtp.starttls(context=context)
            if s.username and s.password is not None:
                smtp.login(s.username, s.password.reveal())
            smtp.send_message(message, from_addr=s.sender, to_addrs=list(s.recipients))
        return 250

    async def aclose(self) -> None:
        return None


def _by_code(code: int, reason: str) -> TransientDeliveryError | PermanentDeliveryError:
    if 400 <= code < 500 or code < 0:
        return TransientDeliveryError(reason, code)
    return PermanentDeliveryError(reason, code)
