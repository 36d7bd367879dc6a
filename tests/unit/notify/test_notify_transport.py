"""How HTTP answers become retries or dead letters, Retry-After in both forms, and
what redaction removes."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from rules.notify.errors import PermanentDeliveryError, TransientDeliveryError
from rules.notify.redact import BODY_LIMIT, Redactor, Secret
from rules.notify.transport import check, retry_after_seconds

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0),
    (" 7 ", 7.0),
    ("Mon, 23 Nov 2026 12:01:30 GMT", 90.0),
    ("Mon, 23 Nov 2026 11:00:00 GMT", 0.0),  # in the past: now
    ("soon", None),
    ("", None),
    (None, None),
])
def test_retry_after_is_seconds_or_an_http_date(value: str | None,
                                                seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


def answer(status: int, body: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, text=body,
                          request=httpx.Request("POST", "https://vendor.example/api"))


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_success(status: int) -> None:
    check(answer(status), Redactor(), NOW)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_408_429_and_5xx_are_retried(status: int) -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        check(answer(status, "busy", {"Retry-After": "30"}), Redactor(), NOW)
    assert caught.value.status == status
    assert caught.value.retry_after == 30.0


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 409, 410, 422])
def test_other_statuses_are_permanent_with_the_body(status: int) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        check(answer(status, '{"error": "bad field"}'), Redactor(), NOW)
    assert (caught.value.status, caught.value.body) == (status, '{"error": "bad field"}')


def test_a_dead_letter_body_is_redacted_and_truncated() -> None:
    redact = Redactor(["s3cr3t-routing-key"])
    body = 'echo: {"routing_key": "s3cr3t-routing-key"} ' + "x" * (2 * BODY_LIMIT)

    with pytest.raises(PermanentDeliveryError) as caught:
        check(answer(400, body), redact, NOW)

    assert caught.value.body is not None
    assert "s3cr3t" not in caught.value.body
    assert len(caught.value.body) <= BODY_LIMIT


@pytest.mark.parametrize("text", [
    "Authorization: Basic b3BzZ3JhcGg6cGFzc3dvcmQ=",
    "sent header authorization=Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc",
    "token=abcdef123456 rejected",
    '{"password": "hunter2-hunter2"}',
    "https://opsgraph:topsecret@example.service-now.com/api",
])
def test_credential_shaped_text_is_scrubbed(text: str) -> None:
    scrubbed = Redactor()(text)

    for secret in ("b3BzZ3JhcGg6cGFzc3dvcmQ", "eyJhbGciOiJIUzI1NiJ9", "abcdef123456",
                   "hunter2", "topsecret"):
        assert secret not in scrubbed
    assert "***" in scrubbed


def test_a_secret_never_shows_in_repr_or_str() -> None:
    secret = Secret("very-secret")

    assert "very-secret" not in repr(secret) + str(secret) + f"{secret}" + repr([secret])
    assert secret.reveal() == "very-secret"
